import { App, Form, Input, Modal } from 'antd';
import { useEffect, useState } from 'react';
import { imagesApi, type Character } from '@/api/images.ts';
import { useI18n } from '@/i18n/index.tsx';

interface CharacterForm {
  name: string;
  description?: string;
}

/** Creates a character (`'new'`) or edits one: a name (1–100) and a description (up to 1000). */
export function CharacterModal({
  character,
  onClose,
  onSaved,
}: {
  character: Character | 'new' | undefined;
  onClose: () => void;
  onSaved: () => void;
}) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm<CharacterForm>();
  const [busy, setBusy] = useState(false);
  const editing = character && character !== 'new' ? character : undefined;

  useEffect(() => {
    if (character) form.setFieldsValue({ name: editing?.name ?? '', description: editing?.description ?? '' });
  }, [character, editing, form]);

  const save = async (values: CharacterForm) => {
    setBusy(true);
    try {
      const name = values.name.trim();
      const description = values.description?.trim() || undefined;
      if (editing) await imagesApi.updateCharacter(editing.id, { name, description: description ?? null });
      else await imagesApi.createCharacter({ name, description });
      void message.success(t('imgSaved'));
      onSaved();
    } catch (error) {
      void message.error((error as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open={character !== undefined}
      title={editing ? t('imgEditCharacter') : t('imgNewCharacter')}
      okText={t('save')}
      cancelText={t('cancel')}
      confirmLoading={busy}
      onOk={() => form.submit()}
      onCancel={onClose}
      forceRender
    >
      <Form<CharacterForm> form={form} layout="vertical" onFinish={(values) => void save(values)}>
        <Form.Item
          name="name"
          label={t('imgCharacterName')}
          rules={[{ required: true, whitespace: true, max: 100, message: t('imgCharacterNameRule') }]}
        >
          <Input maxLength={100} />
        </Form.Item>
        <Form.Item name="description" label={t('imgCharacterDescription')} rules={[{ max: 1000 }]}>
          <Input.TextArea autoSize={{ minRows: 2, maxRows: 6 }} maxLength={1000} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
