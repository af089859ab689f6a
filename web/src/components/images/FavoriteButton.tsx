import { HeartFilled, HeartOutlined } from '@ant-design/icons';
import { useQueryClient } from '@tanstack/react-query';
import { App, Button } from 'antd';
import { useEffect, useState } from 'react';
import { imagesApi, type FavoriteType } from '@/api/images.ts';
import { useI18n } from '@/i18n/index.tsx';

/** Adds a gallery image or prompt template to my favorites, or removes it (a toggle, `aria-pressed`). */
export function FavoriteButton({
  type,
  targetId,
  favoriteId,
  label,
}: {
  type: FavoriteType;
  targetId: string;
  /** My favorite of it, when I have one. */
  favoriteId: string | null;
  /** What it is (the image's title), for the button's accessible name. */
  label: string;
}) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [current, setCurrent] = useState(favoriteId);
  const [busy, setBusy] = useState(false);
  useEffect(() => setCurrent(favoriteId), [favoriteId]);

  const toggle = async () => {
    setBusy(true);
    try {
      if (current) {
        await imagesApi.removeFavorite(current);
        setCurrent(null);
      } else {
        setCurrent((await imagesApi.addFavorite(type, targetId)).id);
      }
      void queryClient.invalidateQueries({ queryKey: ['favorites'] });
    } catch (error) {
      void message.error((error as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Button
      size="small"
      icon={current ? <HeartFilled /> : <HeartOutlined />}
      aria-pressed={current !== null}
      aria-label={`${t('imgFavorite')}: ${label}`}
      loading={busy}
      onClick={() => void toggle()}
    >
      {current ? t('imgFavorited') : t('imgFavorite')}
    </Button>
  );
}
