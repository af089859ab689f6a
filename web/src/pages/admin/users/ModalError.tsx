import { Alert } from 'antd';

/** Why the API refused what a dialog sent, shown in the dialog. */
export function ModalError({ error }: { error: Error | null }) {
  return error ? <Alert type="error" showIcon message={error.message} style={{ marginBottom: 12 }} /> : null;
}
