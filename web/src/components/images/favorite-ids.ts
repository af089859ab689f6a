import { useQuery } from '@tanstack/react-query';
import { dream, type CursorPage, type Favorite, type FavoriteType } from '@/api/images.ts';

/** My favorites of one kind, by what they hold (an image's or a template's id): which favorite to remove. */
export function useFavoriteIds(type: FavoriteType) {
  return useQuery({
    queryKey: ['favorites', 'ids', type],
    queryFn: async () => {
      const page = await dream<CursorPage<Favorite>>('/v1/favorites', { query: { type, limit: 100 } });
      return new Map(page.items.map((f) => [f.targetId, f.id]));
    },
  });
}
