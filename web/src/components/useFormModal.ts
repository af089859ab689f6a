import { App, Form, type ModalProps } from 'antd';
import { useState } from 'react';
import { useI18n } from '@/i18n/index.tsx';

/**
 * A modal with a form that saves: OK validates the fields and hands them to `save`; while it runs the
 * button spins; a success says `savedMessage` and calls `onSaved`, a failure shows the API's message
 * and keeps the modal open with what was typed. Spread `modalProps` on the Modal (title, onCancel and
 * width stay the caller's).
 */
export function useFormModal<F>({
  open,
  save,
  onSaved,
  savedMessage,
}: {
  open: boolean;
  save: (fields: F) => Promise<unknown>;
  onSaved: () => void;
  savedMessage: string;
}) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm<F>();
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    const fields = await form.validateFields();
    setBusy(true);
    try {
      await save(fields);
      void message.success(savedMessage);
      form.resetFields(); // the next "new" starts empty (the form's values outlive the modal)
      onSaved();
    } catch (error) {
      void message.error((error as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const modalProps: ModalProps = {
    open,
    onOk: () => void submit(),
    okText: t('save'),
    cancelText: t('cancel'),
    confirmLoading: busy,
    destroyOnHidden: true,
  };
  return { form, modalProps };
}
