import { LikeFilled, LikeOutlined } from '@ant-design/icons';
import { App, Button, Card, Flex, Image, Typography } from 'antd';
import { useState } from 'react';
import { imagesApi, type GalleryImage } from '@/api/images.ts';
import { number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { FavoriteButton } from './FavoriteButton.tsx';

/**
 * A gallery image: opens full size; like or take the like back (the list does not say which images I
 * liked, so the button starts as "Like": liking twice counts once); favorite.
 */
export function GalleryCard({
  image,
  categoryName,
  favoriteId,
}: {
  image: GalleryImage;
  categoryName: string;
  favoriteId: string | null;
}) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [like, setLike] = useState({ liked: false, count: image.likeCount });
  const [busy, setBusy] = useState(false);

  const toggleLike = async () => {
    setBusy(true);
    try {
      const answer = await imagesApi.like(image.id, !like.liked);
      setLike({ liked: answer.liked, count: answer.likeCount });
    } catch (error) {
      void message.error((error as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card size="small" styles={{ body: { padding: 8 } }}>
      <Image
        src={image.imageUrl}
        alt={image.title}
        width="100%"
        style={{ aspectRatio: `${image.width} / ${image.height}`, objectFit: 'cover' }}
      />
      <Flex vertical gap={4} style={{ marginTop: 8 }}>
        <Typography.Text strong ellipsis={{ tooltip: image.title }}>
          {image.title}
        </Typography.Text>
        <Typography.Text type="secondary" ellipsis>
          {categoryName}
          {image.author?.nickname ? ` · ${image.author.nickname}` : ''}
        </Typography.Text>
        <Flex wrap gap={4}>
          <Button
            size="small"
            icon={like.liked ? <LikeFilled /> : <LikeOutlined />}
            aria-pressed={like.liked}
            aria-label={`${t('imgLike')}: ${image.title} (${number(like.count)})`}
            loading={busy}
            onClick={() => void toggleLike()}
          >
            {number(like.count)}
          </Button>
          <FavoriteButton type="image" targetId={image.id} favoriteId={favoriteId} label={image.title} />
        </Flex>
      </Flex>
    </Card>
  );
}
