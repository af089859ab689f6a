import { Button, Flex, Input } from 'antd';
import { useState, type KeyboardEvent } from 'react';
import { useI18n } from '@/i18n/index.tsx';

/** The message box: Enter sends, Shift+Enter starts a new line; Stop while an answer streams. */
export function Composer({
  streaming,
  disabled,
  onSend,
  onStop,
}: {
  streaming: boolean;
  disabled?: boolean;
  onSend: (text: string) => void;
  onStop: () => void;
}) {
  const { t } = useI18n();
  const [text, setText] = useState('');
  const canSend = !streaming && !disabled && text.trim() !== '';
  const send = () => {
    if (!canSend) return;
    onSend(text.trim());
    setText('');
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  };
  return (
    <Flex gap={8} align="flex-end">
      <Input.TextArea
        aria-label={t('chatMessage')}
        placeholder={t('chatPlaceholder')}
        value={text}
        onChange={(event) => setText(event.target.value)}
        onKeyDown={onKeyDown}
        autoSize={{ minRows: 1, maxRows: 8 }}
        disabled={disabled}
      />
      {streaming ? (
        <Button danger onClick={onStop}>
          {t('chatStop')}
        </Button>
      ) : (
        <Button type="primary" onClick={send} disabled={!canSend}>
          {t('chatSend')}
        </Button>
      )}
    </Flex>
  );
}
