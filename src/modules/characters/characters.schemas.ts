import { Type } from 'typebox';

const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
const Description = Type.String({ maxLength: 1000 });

export const CreateCharacterBody = Type.Object(
  { name: Name, description: Type.Optional(Description) },
  { additionalProperties: false },
);

export const UpdateCharacterBody = Type.Object(
  { name: Type.Optional(Name), description: Type.Optional(Type.Union([Description, Type.Null()])) },
  { additionalProperties: false, minProperties: 1 },
);

/** `{image}`: the photo as base64 (bare or a data URL); `base64` is read the same. */
export const UploadPhotoBody = Type.Object(
  {
    image: Type.Optional(Type.String({ minLength: 1 })),
    base64: Type.Optional(Type.String({ minLength: 1 })),
    filename: Type.Optional(Type.String({ maxLength: 255 })),
  },
  { additionalProperties: false },
);

export const AddPhotoUrlBody = Type.Object(
  { url: Type.String({ minLength: 1, maxLength: 2048 }) },
  { additionalProperties: false },
);

const Id = Type.String({ minLength: 1, maxLength: 64 });
export const CharacterParams = Type.Object({ id: Id });
export const PhotoParams = Type.Object({ id: Id, photoId: Id });

export const PhotoSchema = Type.Object({
  id: Type.String(),
  characterId: Type.String(),
  url: Type.String(),
  source: Type.Union([Type.Literal('upload'), Type.Literal('url')]),
  contentType: Type.Union([Type.String(), Type.Null()]),
  size: Type.Union([Type.Integer(), Type.Null()]),
  width: Type.Union([Type.Integer(), Type.Null()]),
  height: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});

export const CharacterSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  photoCount: Type.Integer(),
  photos: Type.Array(PhotoSchema),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const Deleted = Type.Object({ deleted: Type.Boolean() });
