import { Type } from 'typebox';

/** JSON body of POST /v1/upload/image: the image as base64 (bare or a data URL); `base64` is read the same. */
export const Base64ImageBody = Type.Object(
  {
    image: Type.Optional(Type.String({ minLength: 1 })),
    base64: Type.Optional(Type.String({ minLength: 1 })),
    filename: Type.Optional(Type.String({ maxLength: 255 })),
  },
  { additionalProperties: false },
);

export const UploadSchema = Type.Object({
  id: Type.String(),
  url: Type.String({ description: 'Where the image is fetched' }),
  key: Type.String({ description: 'Its object key in storage' }),
  contentType: Type.String({
    description: 'From the bytes, not the name: image/png, image/jpeg, image/webp, image/gif',
  }),
  size: Type.Integer({ description: 'Bytes' }),
  width: Type.Integer(),
  height: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
});

/** `/uploads/<folder>/<yyyy>/<mm>/<file>`: the shape of every key Tollgate makes (storage.driver.ts). */
export const ObjectPath = Type.Object({
  folder: Type.String({ maxLength: 32 }),
  year: Type.String({ maxLength: 4 }),
  month: Type.String({ maxLength: 2 }),
  file: Type.String({ maxLength: 64 }),
});
