import { Flex, theme } from 'antd';
import { useEffect, useRef, type ReactNode } from 'react';
import { Composer } from './Composer.tsx';
import { MessageBubble } from './MessageBubble.tsx';
import type { ChatMessage } from './types.ts';

/**
 * The streaming chat of the playground and the Dify chat: the messages (a live log that follows the
 * newest text) and the composer. `empty` shows before the first message (an opening statement);
 * `footer` what the page adds under an answer; `after` what follows the last one (suggested questions).
 */
export function ChatPanel<M>({
  label,
  messages,
  streaming,
  disabled,
  onSend,
  onStop,
  empty,
  footer,
  after,
}: {
  label: string;
  messages: ChatMessage<M>[];
  streaming: boolean;
  disabled?: boolean;
  onSend: (text: string) => void;
  onStop: () => void;
  empty?: ReactNode;
  footer?: (message: ChatMessage<M>) => ReactNode;
  after?: ReactNode;
}) {
  const { token } = theme.useToken();
  const log = useRef<HTMLDivElement>(null);
  const last = messages.at(-1);
  useEffect(() => {
    const box = log.current;
    if (box) box.scrollTop = box.scrollHeight;
  }, [messages.length, last?.content, after]);
  return (
    <Flex vertical gap={12}>
      <div
        ref={log}
        role="log"
        aria-label={label}
        tabIndex={0}
        style={{
          minHeight: 240,
          maxHeight: '60vh',
          overflowY: 'auto',
          padding: 12,
          border: `1px solid ${token.colorBorderSecondary}`,
          borderRadius: token.borderRadiusLG,
          background: token.colorBgContainer,
        }}
      >
        {messages.length === 0 && empty}
        {messages.map((message) => (
          <MessageBubble key={message.id} message={message} footer={footer?.(message)} />
        ))}
        {after}
      </div>
      <Composer streaming={streaming} disabled={disabled} onSend={onSend} onStop={onStop} />
    </Flex>
  );
}
