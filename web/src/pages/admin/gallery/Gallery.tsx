import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Col, Empty, Pagination, Popconfirm, Row, Space, Tag, Typography } from 'antd';
import { useState } from 'react';
import { galleryApi, type GalleryImage } from '@/api/admin-catalog.ts';
import { dateTime, number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';

/** Admin: the public gallery, newest first; an image taken down leaves it (the owner keeps the file). */
export function GalleryModerationPage() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [paging, setPaging] = useState({ page: 1, limit: 12 });
  const images = useQuery({
    queryKey: ['admin', 'gallery', paging],
    queryFn: () => galleryApi.list(paging),
    placeholderData: keepPreviousData,
  });
  const takeDown = useMutation({
    mutationFn: galleryApi.takeDown,
    onSuccess: (image) => {
      void message.success(t('acTakenDown', { title: image.title }));
      void queryClient.invalidateQueries({ queryKey: ['admin', 'gallery'] });
    },
    onError: (error) => void message.error(error.message),
  });
  const items = images.data?.items ?? [];

  return (
    <>
      <PageTitle>{t('navGallery')}</PageTitle>
      <Typography.Paragraph type="secondary">{t('acGalleryHint')}</Typography.Paragraph>
      {images.isSuccess && items.length === 0 && <Empty description={t('acGalleryEmpty')} />}
      <Row gutter={[16, 16]}>
        {items.map((image) => (
          <Col key={image.id} xs={24} sm={12} lg={8} xl={6}>
            <GalleryCard
              image={image}
              busy={takeDown.isPending && takeDown.variables === image.id}
              onTakeDown={() => takeDown.mutate(image.id)}
            />
          </Col>
        ))}
      </Row>
      {(images.data?.total ?? 0) > paging.limit && (
        <Pagination
          style={{ marginTop: 16 }}
          current={paging.page}
          pageSize={paging.limit}
          total={images.data?.total ?? 0}
          onChange={(page, limit) => setPaging({ page, limit })}
        />
      )}
    </>
  );
}

function GalleryCard({ image, busy, onTakeDown }: { image: GalleryImage; busy: boolean; onTakeDown: () => void }) {
  const { t } = useI18n();
  return (
    <Card
      cover={
        <img
          src={image.imageUrl}
          alt={image.title}
          loading="lazy"
          style={{ aspectRatio: `${image.width} / ${image.height}`, objectFit: 'cover', maxHeight: 320 }}
        />
      }
      actions={[
        <Popconfirm
          key="down"
          title={t('acTakeDownConfirm')}
          okText={t('acTakeDown')}
          cancelText={t('cancel')}
          onConfirm={onTakeDown}
        >
          <Button danger type="link" loading={busy} aria-label={`${t('acTakeDown')}: ${image.title}`}>
            {t('acTakeDown')}
          </Button>
        </Popconfirm>,
      ]}
    >
      <Space direction="vertical" size={4} style={{ width: '100%' }}>
        <Typography.Title level={2} style={{ fontSize: 16, margin: 0 }}>
          {image.title}
        </Typography.Title>
        <Typography.Paragraph type="secondary" ellipsis={{ rows: 2 }} style={{ margin: 0 }}>
          {image.prompt}
        </Typography.Paragraph>
        <Space size={4} wrap>
          <Tag>{image.category}</Tag>
          <Tag>{t('acLikes', { n: number(image.likeCount) })}</Tag>
        </Space>
        <Typography.Text type="secondary">
          {image.author?.nickname ?? t('acNoAuthor')} · {dateTime(image.createdAt)}
        </Typography.Text>
      </Space>
    </Card>
  );
}
