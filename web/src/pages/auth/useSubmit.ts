import { useState } from 'react';

/** An auth form's submit: busy while it runs, its failure's message kept to show above the form. */
export function useSubmit<F>(action: (fields: F) => Promise<void>) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (fields: F) => {
    setBusy(true);
    setError(undefined);
    try {
      await action(fields);
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, submit: (fields: F) => void submit(fields) };
}
