import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Button, Col, Empty, Flex, Row, Segmented, Select, Typography } from 'antd';
import { useState } from 'react';
import { imagesApi } from '@/api/images.ts';
import { useFavoriteIds } from '@/components/images/favorite-ids.ts';
import { GalleryCard } from '@/components/images/GalleryCard.tsx';
import { useI18n } from '@/i18n/index.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';

type Sort = 'newest' | 'popular';

/** The public gallery: by category, newest or most liked first, a page at a time ("Load more"). */
export function GalleryPage() {
  const { t, lang } = useI18n();
  const [category, setCategory] = useState<string>();
  const [sort, setSort] = useState<Sort>('newest');
  const categories = useQuery({ queryKey: ['gallery-categories'], queryFn: imagesApi.categories });
  const favorites = useFavoriteIds('image');
  const images = useInfiniteQuery({
    queryKey: ['gallery', category, sort],
    queryFn: ({ pageParam }) => imagesApi.gallery({ category, sort, limit: 12, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => (last.hasMore ? (last.nextCursor ?? undefined) : undefined),
  });
  const items = images.data?.pages.flatMap((p) => p.items) ?? [];
  const categoryName = (id: string) => {
    const found = categories.data?.find((c) => c.id === id);
    return found ? (lang === 'en' ? found.nameEn : found.name) : id;
  };

  return (
    <>
      <PageTitle>{t('imgGallery')}</PageTitle>
      <Flex wrap gap={12} style={{ marginBottom: 16 }}>
        <Select
          allowClear
          aria-label={t('imgCategory')}
          placeholder={t('imgAllCategories')}
          style={{ minWidth: 180 }}
          value={category}
          onChange={setCategory}
          options={categories.data?.map((c) => ({ value: c.id, label: `${categoryName(c.id)} (${c.count})` }))}
        />
        <Segmented<Sort>
          aria-label={t('imgSort')}
          value={sort}
          onChange={setSort}
          options={[
            { value: 'newest', label: t('imgNewest') },
            { value: 'popular', label: t('imgPopular') },
          ]}
        />
      </Flex>
      {images.isSuccess && items.length === 0 && <Empty description={t('imgGalleryEmpty')} />}
      <Row gutter={[16, 16]}>
        {items.map((image) => (
          <Col key={image.id} xs={12} md={8} xl={6}>
            <GalleryCard
              image={image}
              categoryName={categoryName(image.category)}
              favoriteId={favorites.data?.get(image.id) ?? null}
            />
          </Col>
        ))}
      </Row>
      <Flex justify="center" style={{ marginTop: 16 }}>
        {images.hasNextPage ? (
          <Button onClick={() => void images.fetchNextPage()} loading={images.isFetchingNextPage}>
            {t('imgLoadMore')}
          </Button>
        ) : (
          items.length > 0 && <Typography.Text type="secondary">{t('imgGalleryEnd')}</Typography.Text>
        )}
      </Flex>
    </>
  );
}
