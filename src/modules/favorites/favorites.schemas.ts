import { Type, type Static } from 'typebox';
import { Paging } from '#core/http/pagination.ts';
import { GalleryImageSchema } from '#modules/gallery/gallery.schemas.ts';
import { PromptTemplateSchema } from '#modules/templates/templates.schemas.ts';

const Id = Type.String({ minLength: 1, maxLength: 64 });
/** `image`: a gallery image; `prompt`: a prompt template. */
const FavoriteTypeSchema = Type.Union([Type.Literal('image'), Type.Literal('prompt')]);

export const AddFavoriteBody = Type.Object({ type: FavoriteTypeSchema, targetId: Id }, { additionalProperties: false });
export type AddFavorite = Static<typeof AddFavoriteBody>;

export const FavoriteListQuery = Type.Object(
  {
    page: Paging.page(),
    limit: Paging.limit({ default: 20 }),
    cursor: Type.Optional(Paging.cursor()),
    type: Type.Optional(FavoriteTypeSchema),
  },
  { additionalProperties: false },
);
export type FavoriteListOptions = Static<typeof FavoriteListQuery>;

export const FavoriteCheckQuery = Type.Object(
  { type: FavoriteTypeSchema, targetId: Id },
  { additionalProperties: false },
);

export const FavoriteParams = Type.Object({ id: Id }, { additionalProperties: false });

export const FavoriteSchema = Type.Object({
  id: Type.String(),
  type: FavoriteTypeSchema,
  targetId: Type.String(),
  /** What it points at now; null when it is gone (an image taken down, a template deleted or hidden). */
  target: Type.Union([GalleryImageSchema, PromptTemplateSchema, Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});
export type Favorite = Static<typeof FavoriteSchema>;

export const FavoriteCheck = Type.Object({
  favorited: Type.Boolean(),
  favoriteId: Type.Union([Type.String(), Type.Null()]),
});

export const FavoriteRemoved = Type.Object({ id: Type.String(), deleted: Type.Literal(true) });
