import { PlusOutlined } from '@ant-design/icons';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Badge, Button, Flex, Popconfirm, Space, Tag, Typography } from 'antd';
import { useState } from 'react';
import { templatesApi, type ParamTemplate, type PromptTemplate, type TemplateKind } from '@/api/admin-catalog.ts';
import { ScrollTable } from '@/components/ScrollTable.tsx';
import { dateTime, number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { TemplateModal } from './TemplateModal.tsx';

type Template = PromptTemplate | ParamTemplate;
const titleOf = (template: Template) => ('title' in template ? template.title : template.name);

/** One kind of template: the list (newest first, hidden ones too), create, edit, delete. */
export function TemplateTable({ kind }: { kind: TemplateKind }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [paging, setPaging] = useState({ page: 1, limit: 20 });
  const [editing, setEditing] = useState<Template | 'new'>();
  const key = ['admin', 'templates', kind];
  const list = useQuery({
    queryKey: [...key, paging],
    queryFn: () => templatesApi.list<Template>(kind, paging),
    placeholderData: keepPreviousData,
  });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: key });
  const remove = useMutation({
    mutationFn: (id: string) => templatesApi.remove(kind, id),
    onSuccess: refresh,
    onError: (error) => void message.error(error.message),
  });
  const label = kind === 'prompts' ? t('acPromptTemplates') : t('acParamTemplates');

  return (
    <>
      <Flex justify="flex-end" style={{ marginBottom: 12 }}>
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')}>
          {kind === 'prompts' ? t('acNewPromptTemplate') : t('acNewParamTemplate')}
        </Button>
      </Flex>
      <ScrollTable<Template>
        label={label}
        rowKey="id"
        loading={list.isFetching}
        dataSource={list.data?.items}
        minWidth={900}
        pagination={{
          current: paging.page,
          pageSize: paging.limit,
          total: list.data?.total ?? 0,
          onChange: (page, limit) => setPaging({ page, limit }),
        }}
        columns={[
          {
            title: kind === 'prompts' ? t('acTemplateTitle') : t('name'),
            render: (_, tpl) => (
              <Space direction="vertical" size={0} style={{ maxWidth: 360 }}>
                <Typography.Text strong>{titleOf(tpl)}</Typography.Text>
                <Typography.Text type="secondary" ellipsis>
                  {'prompt' in tpl ? tpl.prompt : `${tpl.mode} · ${tpl.resolution} · ×${tpl.count}`}
                </Typography.Text>
              </Space>
            ),
          },
          { title: t('acCategory'), dataIndex: 'category', render: (v: string) => <Tag>{v}</Tag> },
          {
            title: t('status'),
            dataIndex: 'isActive',
            render: (active: boolean) => (
              <Badge status={active ? 'success' : 'default'} text={active ? t('acShown') : t('acHidden')} />
            ),
          },
          { title: t('acUsageCount'), dataIndex: 'usageCount', align: 'right', render: number },
          { title: t('acSortOrder'), dataIndex: 'sortOrder', align: 'right' },
          { title: t('acUpdated'), dataIndex: 'updatedAt', render: (v: string) => dateTime(v) },
          {
            title: t('actions'),
            render: (_, tpl) => (
              <Space>
                <Button size="small" aria-label={`${t('acEdit')}: ${titleOf(tpl)}`} onClick={() => setEditing(tpl)}>
                  {t('acEdit')}
                </Button>
                <Popconfirm
                  title={t('acDeleteTemplateConfirm')}
                  okText={t('delete')}
                  cancelText={t('cancel')}
                  onConfirm={() => remove.mutate(tpl.id)}
                >
                  <Button danger size="small" aria-label={`${t('delete')}: ${titleOf(tpl)}`}>
                    {t('delete')}
                  </Button>
                </Popconfirm>
              </Space>
            ),
          },
        ]}
      />
      <TemplateModal
        kind={kind}
        template={editing}
        onClose={() => setEditing(undefined)}
        onSaved={() => {
          setEditing(undefined);
          refresh();
        }}
      />
    </>
  );
}
