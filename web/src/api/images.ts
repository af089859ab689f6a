import { api, type Query, type RequestOptions } from './client.ts';
import type { PageReader } from './paged.ts';

/**
 * Seed 003's image API (`/v1/proxy`, `/v1/characters`, `/v1/gallery`, `/v1/favorites`, `/v1/templates`).
 * Its errors share the `/api` shape (`{success:false, statusCode, code, message}`), so `api` reads them
 * (and keeps the cookie session, X-Requested-With and the refresh); a success is `{success:true, data}`.
 */
export async function dream<T>(path: string, options: RequestOptions = {}): Promise<T> {
  return (await api<{ success: true; data: T }>(path, options)).data;
}

/** `usePaged`'s reader for a seed 003 list: its page sits inside `{success, data}`. */
export const readDreamPage: PageReader = (path, query) => dream(path, { query });

/** A seed 003 list: by page, or by cursor (`nextCursor` of the page before). */
export interface CursorPage<T> {
  items: T[];
  total: number;
  page: number;
  limit: number;
  nextCursor: string | null;
  hasMore: boolean;
}

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';
export const JOB_STATUSES: JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'canceled'];
export const isOpen = (status: JobStatus): boolean => status === 'queued' || status === 'running';

export interface JobImage {
  /** The upload's id: publish it to the gallery by this id. */
  id: string;
  url: string;
  width: number;
  height: number;
}

export interface Job {
  id: string;
  status: JobStatus;
  prompt: string;
  negativePrompt: string | null;
  mode: string;
  resolution: string;
  count: number;
  params: Record<string, string | number | boolean>;
  characterId: string | null;
  promptTemplateId: string | null;
  paramTemplateId: string | null;
  images: JobImage[];
  creditsHeld: number;
  /** null while the job is open (not settled). */
  creditsCharged: number | null;
  error: { code: string; message: string } | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

/** What a job of these settings would hold now, at my role and plan (GET /v1/proxy/images/price). */
export interface JobQuote {
  model: string;
  mode: string;
  resolution: string;
  count: number;
  credits: number;
}

export interface GenerateRequest {
  prompt?: string;
  negativePrompt?: string;
  promptTemplateId?: string;
  paramTemplateId?: string;
  mode?: string;
  resolution?: string;
  count?: number;
  characterId?: string;
}

export interface PromptTemplate {
  id: string;
  title: string;
  prompt: string;
  negativePrompt: string | null;
  description: string | null;
  category: string;
  tags: string[];
  usageCount: number;
}

export interface ParamTemplate {
  id: string;
  name: string;
  description: string | null;
  category: string;
  mode: string;
  resolution: string;
  count: number;
  params: Record<string, string | number | boolean>;
}

export interface CharacterPhoto {
  id: string;
  characterId: string;
  url: string;
  source: 'upload' | 'url';
  contentType: string | null;
  size: number | null;
  createdAt: string;
}

export interface Character {
  id: string;
  name: string;
  description: string | null;
  photoCount: number;
  photos: CharacterPhoto[];
  createdAt: string;
  updatedAt: string;
}

export interface GalleryImage {
  id: string;
  imageUrl: string;
  title: string;
  prompt: string;
  category: string;
  width: number;
  height: number;
  likeCount: number;
  status: 'published' | 'unpublished';
  author: { nickname: string | null; avatarUrl: string | null } | null;
  createdAt: string;
}

export interface GalleryCategory {
  id: string;
  name: string;
  nameEn: string;
  count: number;
}

export type FavoriteType = 'image' | 'prompt';
export type Favorite =
  | { id: string; type: 'image'; targetId: string; target: GalleryImage | null; createdAt: string }
  | { id: string; type: 'prompt'; targetId: string; target: PromptTemplate | null; createdAt: string };

/** Photos per character (the server's `CHARACTER_MAX_PHOTOS` default) and the largest photo (`UPLOAD_MAX_BYTES` default). */
export const MAX_PHOTOS = 10;
export const MAX_PHOTO_BYTES = 10 * 1024 * 1024;
export const PHOTO_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'];

const at = (path: string, id: string) => `${path}/${encodeURIComponent(id)}`;

export const imagesApi = {
  generate: (body: GenerateRequest) => dream<Job>('/v1/proxy/images/generate', { method: 'POST', body }),
  price: (query: { mode: string; resolution: string; count: number }) =>
    dream<JobQuote>('/v1/proxy/images/price', { query }),
  job: (id: string) => dream<Job>(at('/v1/proxy/jobs', id)),
  cancelJob: (id: string) => dream<Job>(at('/v1/proxy/jobs', id), { method: 'DELETE' }),
  promptTemplates: () =>
    dream<CursorPage<PromptTemplate>>('/v1/templates/prompts', { query: { limit: 100 } }).then((p) => p.items),
  paramTemplates: () =>
    dream<CursorPage<ParamTemplate>>('/v1/templates/params', { query: { limit: 100 } }).then((p) => p.items),
  characters: () => dream<CursorPage<Character>>('/v1/characters', { query: { limit: 100 } }).then((p) => p.items),
  createCharacter: (body: { name: string; description?: string }) =>
    dream<Character>('/v1/characters', { method: 'POST', body }),
  updateCharacter: (id: string, body: { name: string; description: string | null }) =>
    dream<Character>(at('/v1/characters', id), { method: 'PUT', body }),
  deleteCharacter: (id: string) => dream(at('/v1/characters', id), { method: 'DELETE' }),
  uploadPhoto: (id: string, dataUrl: string) =>
    dream<CharacterPhoto>(`${at('/v1/characters', id)}/photos/upload`, { method: 'POST', body: { image: dataUrl } }),
  deletePhoto: (id: string, photoId: string) =>
    dream(at(`${at('/v1/characters', id)}/photos`, photoId), { method: 'DELETE' }),
  categories: () => dream<GalleryCategory[]>('/v1/gallery/categories'),
  gallery: (query: Query) => dream<CursorPage<GalleryImage>>('/v1/gallery/images', { query }),
  publish: (body: { imageId: string; title: string; category: string; prompt: string }) =>
    dream<GalleryImage>('/v1/gallery/publish', { method: 'POST', body }),
  like: (id: string, liked: boolean) =>
    dream<{ imageId: string; liked: boolean; likeCount: number }>(`${at('/v1/gallery/images', id)}/like`, {
      method: liked ? 'POST' : 'DELETE',
    }),
  addFavorite: (type: FavoriteType, targetId: string) =>
    dream<Favorite>('/v1/favorites', { method: 'POST', body: { type, targetId } }),
  removeFavorite: (id: string) => dream(at('/v1/favorites', id), { method: 'DELETE' }),
};

/** Reads a file the user picked as a `data:` URL (the photo upload's body). */
export function readAsDataUrl(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(typeof reader.result === 'string' ? reader.result : '');
    reader.onerror = () => reject(reader.error ?? new Error('read failed'));
    reader.readAsDataURL(file);
  });
}
