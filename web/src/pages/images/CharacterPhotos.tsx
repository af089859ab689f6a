import { DeleteOutlined, UploadOutlined } from '@ant-design/icons';
import { App, Button, Flex, Image, Popconfirm, Typography, Upload } from 'antd';
import { useState } from 'react';
import { imagesApi, MAX_PHOTO_BYTES, MAX_PHOTOS, PHOTO_TYPES, readAsDataUrl, type Character } from '@/api/images.ts';
import { useI18n } from '@/i18n/index.tsx';

/** A character's photos: see them full size, delete one, upload one (PNG, JPEG, WebP or GIF up to the size limit). */
export function CharacterPhotos({ character, onChanged }: { character: Character; onChanged: () => void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [uploading, setUploading] = useState(false);
  const full = character.photoCount >= MAX_PHOTOS;

  const upload = async (file: File) => {
    if (!PHOTO_TYPES.includes(file.type)) return void message.error(t('imgPhotoTypeRule'));
    if (file.size > MAX_PHOTO_BYTES) return void message.error(t('imgPhotoSizeRule'));
    setUploading(true);
    try {
      await imagesApi.uploadPhoto(character.id, await readAsDataUrl(file));
      void message.success(t('imgPhotoUploaded'));
      onChanged();
    } catch (error) {
      void message.error((error as Error).message);
    } finally {
      setUploading(false);
    }
  };
  const remove = async (photoId: string) => {
    try {
      await imagesApi.deletePhoto(character.id, photoId);
      onChanged();
    } catch (error) {
      void message.error((error as Error).message);
    }
  };

  return (
    <Flex vertical gap={8}>
      <Typography.Text type="secondary">{t('imgPhotos', { n: character.photoCount, max: MAX_PHOTOS })}</Typography.Text>
      <Image.PreviewGroup>
        <Flex wrap gap={8}>
          {character.photos.map((photo, i) => (
            <Flex key={photo.id} vertical gap={4} align="center">
              <Image
                src={photo.url}
                width={88}
                height={88}
                style={{ objectFit: 'cover' }}
                alt={t('imgPhotoAlt', { name: character.name, n: i + 1 })}
              />
              <Popconfirm
                title={t('imgDeletePhotoConfirm')}
                okText={t('delete')}
                cancelText={t('cancel')}
                onConfirm={() => void remove(photo.id)}
              >
                <Button
                  size="small"
                  type="text"
                  danger
                  icon={<DeleteOutlined />}
                  aria-label={t('imgDeletePhoto', { name: character.name, n: i + 1 })}
                />
              </Popconfirm>
            </Flex>
          ))}
        </Flex>
      </Image.PreviewGroup>
      <Upload
        accept={PHOTO_TYPES.join(',')}
        showUploadList={false}
        disabled={full || uploading}
        beforeUpload={(file) => {
          void upload(file);
          return false;
        }}
      >
        <Button
          icon={<UploadOutlined />}
          loading={uploading}
          disabled={full}
          aria-label={`${t('imgUploadPhoto')}: ${character.name}`}
        >
          {t('imgUploadPhoto')}
        </Button>
      </Upload>
      <Typography.Text type="secondary">{full ? t('imgPhotosFull') : t('imgPhotoLimits')}</Typography.Text>
    </Flex>
  );
}
