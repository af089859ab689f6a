import { useMutation } from '@tanstack/react-query';
import { Form, Input, Modal, Typography } from 'antd';
import { type AdminUserDetail, userPath } from '@/api/admin-people.ts';
import { api } from '@/api/client.ts';
import { useI18n } from '@/i18n/index.tsx';
import { ModalError } from './ModalError.tsx';

/** Deletes the account once its email (or username) is typed: personal data erased, the books kept. */
export function DeleteUserModal(props: {
  open: boolean;
  user: AdminUserDetail;
  onClose: () => void;
  onDone: () => void;
}) {
  const { t } = useI18n();
  const [form] = Form.useForm<{ typed: string }>();
  const typed = Form.useWatch('typed', form);
  const expected = props.user.email ?? props.user.username;
  const remove = useMutation({
    mutationFn: () => api(userPath(props.user.id), { method: 'DELETE' }),
    onSuccess: props.onDone,
  });
  return (
    <Modal
      open={props.open}
      title={t('apDeleteUser')}
      okText={t('delete')}
      cancelText={t('cancel')}
      okButtonProps={{ danger: true, disabled: typed?.trim() !== expected }}
      confirmLoading={remove.isPending}
      onOk={() => remove.mutate()}
      onCancel={() => {
        remove.reset();
        props.onClose();
      }}
      destroyOnHidden
    >
      <ModalError error={remove.error} />
      <Typography.Paragraph>{t('apDeleteExplain')}</Typography.Paragraph>
      <Form form={form} layout="vertical">
        <Form.Item name="typed" label={t('apTypeToDelete', { text: expected })}>
          <Input autoComplete="off" />
        </Form.Item>
      </Form>
    </Modal>
  );
}
