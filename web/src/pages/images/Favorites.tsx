import { useMutation, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Col, Empty, Image, Pagination, Row, Segmented, Typography } from 'antd';
import { useState } from 'react';
import { Link } from 'react-router-dom';
import { imagesApi, readDreamPage, type Favorite, type FavoriteType } from '@/api/images.ts';
import { usePaged } from '@/api/paged.ts';
import { date } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';

/** My favorite gallery images and prompt templates; remove one. */
export function FavoritesPage() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [type, setType] = useState<FavoriteType>('image');
  const favorites = usePaged<Favorite>(['favorites'], '/v1/favorites', { type }, 12, readDreamPage);
  const remove = useMutation({
    mutationFn: imagesApi.removeFavorite,
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['favorites'] }),
    onError: (error) => void message.error(error.message),
  });
  const items = favorites.data?.items ?? [];

  return (
    <>
      <PageTitle
        extra={
          <Segmented<FavoriteType>
            aria-label={t('imgFavoriteKind')}
            value={type}
            onChange={(value) => {
              setType(value);
              favorites.firstPage();
            }}
            options={[
              { value: 'image', label: t('imgFavoriteImages') },
              { value: 'prompt', label: t('imgFavoritePrompts') },
            ]}
          />
        }
      >
        {t('imgFavorites')}
      </PageTitle>
      {favorites.isSuccess && items.length === 0 && <Empty description={t('imgNoFavorites')} />}
      <Row gutter={[16, 16]}>
        {items.map((favorite) => {
          const name = favoriteName(favorite) ?? t('imgGone');
          return (
            <Col
              key={favorite.id}
              xs={favorite.type === 'image' ? 12 : 24}
              md={favorite.type === 'image' ? 8 : 12}
              xl={favorite.type === 'image' ? 6 : 8}
            >
              <Card size="small" styles={{ body: { padding: 8 } }}>
                {favorite.type === 'image' && favorite.target && (
                  <Image
                    src={favorite.target.imageUrl}
                    alt={favorite.target.title}
                    width="100%"
                    style={{
                      aspectRatio: `${favorite.target.width} / ${favorite.target.height}`,
                      objectFit: 'cover',
                    }}
                  />
                )}
                <Typography.Text strong style={{ display: 'block', marginTop: 8 }}>
                  {name}
                </Typography.Text>
                {favorite.type === 'prompt' && favorite.target && (
                  <>
                    <Typography.Paragraph type="secondary" ellipsis={{ rows: 3 }}>
                      {favorite.target.prompt}
                    </Typography.Paragraph>
                    <Link
                      to={`/dashboard/images?promptTemplate=${encodeURIComponent(favorite.targetId)}`}
                      style={{ textDecoration: 'underline' }}
                    >
                      {t('imgUsePrompt')}
                    </Link>
                  </>
                )}
                <Typography.Text type="secondary" style={{ display: 'block' }}>
                  {t('imgFavoritedOn', { date: date(favorite.createdAt) })}
                </Typography.Text>
                <Button
                  size="small"
                  danger
                  style={{ marginTop: 8 }}
                  aria-label={`${t('imgRemoveFavorite')}: ${name}`}
                  loading={remove.isPending && remove.variables === favorite.id}
                  onClick={() => remove.mutate(favorite.id)}
                >
                  {t('imgRemoveFavorite')}
                </Button>
              </Card>
            </Col>
          );
        })}
      </Row>
      {(favorites.data?.total ?? 0) > (favorites.pagination.pageSize ?? 12) && (
        <Pagination
          style={{ marginTop: 16 }}
          align="center"
          current={favorites.pagination.current}
          pageSize={favorites.pagination.pageSize}
          total={favorites.pagination.total}
          onChange={favorites.pagination.onChange}
        />
      )}
    </>
  );
}

const favoriteName = (favorite: Favorite): string | undefined => favorite.target?.title;
