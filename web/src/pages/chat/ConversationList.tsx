import { DeleteOutlined, EditOutlined, PlusOutlined } from '@ant-design/icons';
import { Button, Card, Empty, Flex, Form, Input, Modal, Popconfirm, theme } from 'antd';
import { useState } from 'react';
import type { DifyConversation } from '@/api/dify.ts';
import { useI18n } from '@/i18n/index.tsx';

/** The user's Dify conversations: pick one, start a new one, rename or delete one. */
export function ConversationList({
  conversations,
  loading,
  selected,
  busy,
  onNew,
  onPick,
  onRename,
  onDelete,
}: {
  conversations: DifyConversation[];
  loading: boolean;
  selected: string | null;
  busy: boolean;
  onNew: () => void;
  onPick: (id: string) => void;
  onRename: (id: string, name: string) => Promise<unknown>;
  onDelete: (id: string) => Promise<unknown>;
}) {
  const { t } = useI18n();
  const { token } = theme.useToken();
  const [renaming, setRenaming] = useState<DifyConversation | null>(null);
  const [form] = Form.useForm<{ name: string }>();
  const [saving, setSaving] = useState(false);

  const save = async ({ name }: { name: string }) => {
    if (!renaming) return;
    setSaving(true);
    try {
      await onRename(renaming.id, name.trim());
      setRenaming(null);
    } finally {
      setSaving(false);
    }
  };

  return (
    <Card
      title={<h2 className="card-title">{t('difyConversations')}</h2>}
      loading={loading}
      extra={
        <Button icon={<PlusOutlined />} onClick={onNew} disabled={busy}>
          {t('difyNewChat')}
        </Button>
      }
      styles={{ body: { padding: 8 } }}
    >
      {conversations.length === 0 && (
        <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('difyNoConversations')} />
      )}
      <ul style={{ listStyle: 'none', margin: 0, padding: 0, maxHeight: '50vh', overflowY: 'auto' }}>
        {conversations.map((c) => (
          <li key={c.id}>
            <Flex
              align="center"
              gap={4}
              style={{
                borderRadius: token.borderRadius,
                background: c.id === selected ? token.colorPrimaryBg : undefined,
              }}
            >
              <Button
                type="text"
                aria-current={c.id === selected ? 'true' : undefined}
                onClick={() => onPick(c.id)}
                disabled={busy}
                style={{ flex: 1, minWidth: 0, justifyContent: 'flex-start', overflow: 'hidden' }}
              >
                <span style={{ overflow: 'hidden', textOverflow: 'ellipsis' }}>{c.name}</span>
              </Button>
              <Button
                type="text"
                size="small"
                icon={<EditOutlined />}
                aria-label={`${t('difyRename')} ${c.name}`}
                onClick={() => setRenaming(c)}
              />
              <Popconfirm
                title={t('difyDeleteConfirm')}
                okText={t('delete')}
                cancelText={t('cancel')}
                onConfirm={() => void onDelete(c.id)}
              >
                <Button
                  type="text"
                  size="small"
                  danger
                  icon={<DeleteOutlined />}
                  aria-label={`${t('difyDelete')} ${c.name}`}
                  disabled={busy && c.id === selected}
                />
              </Popconfirm>
            </Flex>
          </li>
        ))}
      </ul>
      <Modal
        title={t('difyRenameTitle')}
        open={renaming !== null}
        okText={t('save')}
        cancelText={t('cancel')}
        confirmLoading={saving}
        onOk={() => form.submit()}
        onCancel={() => setRenaming(null)}
        destroyOnHidden
      >
        <Form
          form={form}
          layout="vertical"
          onFinish={(values) => void save(values)}
          initialValues={{ name: renaming?.name }}
        >
          <Form.Item
            name="name"
            label={t('difyName')}
            rules={[{ required: true, whitespace: true, message: t('required') }, { max: 100 }]}
          >
            <Input autoFocus />
          </Form.Item>
        </Form>
      </Modal>
    </Card>
  );
}
