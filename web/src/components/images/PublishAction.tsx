import { useQuery } from '@tanstack/react-query';
import { App, Button, Flex, Form, Input, Modal, Select, Typography } from 'antd';
import { useState } from 'react';
import { imagesApi, type GalleryImage, type JobImage } from '@/api/images.ts';
import { useI18n } from '@/i18n/index.tsx';
import { FavoriteButton } from './FavoriteButton.tsx';

interface PublishForm {
  title: string;
  category: string;
  prompt: string;
}

/**
 * Publishes one of my job's images to the gallery (a title, a category, the prompt), then offers to
 * favorite the gallery entry it became (favorites hold gallery images, not private results).
 */
export function PublishAction({ image, prompt, index }: { image: JobImage; prompt: string; index: number }) {
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [published, setPublished] = useState<GalleryImage>();
  const [form] = Form.useForm<PublishForm>();
  const categories = useQuery({ queryKey: ['gallery-categories'], queryFn: imagesApi.categories, enabled: open });

  const submit = async (values: PublishForm) => {
    setBusy(true);
    try {
      const entry = await imagesApi.publish({
        imageId: image.id,
        title: values.title.trim(),
        category: values.category,
        prompt: values.prompt.trim(),
      });
      setPublished(entry);
      setOpen(false);
      void message.success(t('imgPublished'));
    } catch (error) {
      void message.error((error as Error).message);
    } finally {
      setBusy(false);
    }
  };

  if (published) {
    return (
      <Flex vertical gap={4} style={{ marginTop: 4 }}>
        <Typography.Text type="success">{t('imgInGallery')}</Typography.Text>
        <FavoriteButton type="image" targetId={published.id} favoriteId={null} label={published.title} />
      </Flex>
    );
  }
  return (
    <>
      <Button
        size="small"
        style={{ marginTop: 4 }}
        aria-label={t('imgPublishTitle', { n: index + 1 })}
        onClick={() => setOpen(true)}
      >
        {t('imgPublish')}
      </Button>
      <Modal
        open={open}
        title={t('imgPublishTitle', { n: index + 1 })}
        okText={t('imgPublish')}
        cancelText={t('cancel')}
        confirmLoading={busy}
        onOk={() => form.submit()}
        onCancel={() => setOpen(false)}
        destroyOnHidden
      >
        <Form<PublishForm> form={form} layout="vertical" initialValues={{ prompt }} onFinish={(v) => void submit(v)}>
          <Form.Item
            name="title"
            label={t('imgTitle')}
            rules={[{ required: true, whitespace: true, max: 100, message: t('imgTitleRule') }]}
          >
            <Input maxLength={100} />
          </Form.Item>
          <Form.Item
            name="category"
            label={t('imgCategory')}
            rules={[{ required: true, message: t('imgCategoryRule') }]}
          >
            <Select
              loading={categories.isPending}
              options={categories.data?.map((c) => ({ value: c.id, label: lang === 'en' ? c.nameEn : c.name }))}
            />
          </Form.Item>
          <Form.Item
            name="prompt"
            label={t('imgPrompt')}
            rules={[{ required: true, whitespace: true, max: 4000, message: t('imgPromptRule') }]}
          >
            <Input.TextArea autoSize={{ minRows: 2, maxRows: 6 }} maxLength={4000} />
          </Form.Item>
        </Form>
      </Modal>
    </>
  );
}
