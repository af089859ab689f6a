import { Type, type Static } from 'typebox';
import { Paging } from '#core/http/pagination.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

/**
 * The gallery's categories: a fixed list (the mini-program shows them as tabs), the slugs the seed's
 * prompt templates use, and `other`. A published image names one; `?category=` filters on it.
 */
export const GALLERY_CATEGORIES = [
  { id: 'portrait', name: '人像', nameEn: 'Portrait' },
  { id: 'anime', name: '动漫', nameEn: 'Anime' },
  { id: 'landscape', name: '风景', nameEn: 'Landscape' },
  { id: 'scifi', name: '科幻', nameEn: 'Sci-fi' },
  { id: 'product', name: '产品', nameEn: 'Product' },
  { id: 'chinese', name: '国风', nameEn: 'Chinese style' },
  { id: 'fantasy', name: '奇幻', nameEn: 'Fantasy' },
  { id: 'animal', name: '动物', nameEn: 'Animals' },
  { id: 'other', name: '其他', nameEn: 'Other' },
] as const;
export type GalleryCategory = (typeof GALLERY_CATEGORIES)[number]['id'];

const Category = Type.Enum(
  GALLERY_CATEGORIES.map((c) => c.id),
  { description: GALLERY_CATEGORIES.map((c) => c.id).join(', ') },
);
const Id = Type.String({ minLength: 1, maxLength: 64 });
/** One line of text a person reads: no control characters, no space at either end. */
const TRIMMED = '^[^\\s\\u0000-\\u001f\\u007f](?:[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f])?$';

/** `newest`: newest first; `popular`: most liked first (ties: the newer id first). */
export const GallerySort = Type.Union([Type.Literal('newest'), Type.Literal('popular')], { default: 'newest' });
export type GallerySortValue = Static<typeof GallerySort>;

export const GalleryListQuery = Type.Object(
  {
    page: Paging.page(),
    limit: Paging.limit({ default: 20 }),
    cursor: Type.Optional(Paging.cursor()),
    category: Type.Optional(Category),
    sort: Type.Optional(GallerySort),
  },
  { additionalProperties: false },
);
export type GalleryListOptions = Static<typeof GalleryListQuery>;

export const GalleryImageParams = Type.Object({ id: Id }, { additionalProperties: false });

/** The author as everyone may see them: never an email, phone, openid or account id. */
export const GalleryAuthor = Type.Object({
  nickname: Nullable(Type.String()),
  avatarUrl: Nullable(Type.String()),
});

export const GalleryImageSchema = Type.Object({
  id: Type.String(),
  imageUrl: Type.String(),
  title: Type.String(),
  prompt: Type.String(),
  category: Type.String(),
  width: Type.Integer(),
  height: Type.Integer(),
  likeCount: Type.Integer(),
  status: Type.Union([Type.Literal('published'), Type.Literal('unpublished')]),
  /** null for the seed images and for an author whose account was deleted. */
  author: Nullable(GalleryAuthor),
  createdAt: Type.String({ format: 'date-time' }),
});
export type GalleryImage = Static<typeof GalleryImageSchema>;

export const GalleryCategorySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  nameEn: Type.String(),
  /** Published images in the category. */
  count: Type.Integer(),
});

export const PublishBody = Type.Object(
  {
    imageId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'The upload id (a job’s images[].id)' }),
    ),
    imageUrl: Type.Optional(
      Type.String({ minLength: 1, maxLength: 2048, description: 'The URL Tollgate gave for one of your images' }),
    ),
    title: Type.String({ minLength: 1, maxLength: 100, pattern: TRIMMED }),
    category: Category,
    prompt: Type.String({ minLength: 1, maxLength: 4000, pattern: '\\S' }),
  },
  { additionalProperties: false },
);
export type Publish = Static<typeof PublishBody>;

export const LikeResult = Type.Object({ imageId: Type.String(), liked: Type.Boolean(), likeCount: Type.Integer() });
