import { DislikeFilled, DislikeOutlined, LikeFilled, LikeOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Col, Flex, Result, Row, Typography } from 'antd';
import { useState } from 'react';
import { ApiError } from '@/api/client.ts';
import {
  DIFY_CONVERSATIONS_KEY,
  difyApi,
  streamDifyChat,
  type DifyMessage,
  type DifyUsage,
  type Rating,
} from '@/api/dify.ts';
import { ChatPanel } from '@/components/chat/ChatPanel.tsx';
import type { ChatMessage } from '@/components/chat/types.ts';
import { useChatStream } from '@/components/chat/useChatStream.ts';
import { useI18n } from '@/i18n/index.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';
import { ConversationList } from './ConversationList.tsx';

interface AnswerMeta {
  messageId?: string;
  rating?: Rating;
  usage?: DifyUsage;
}

/** A conversation's stored messages as the chat shows them. */
function toChat(messages: DifyMessage[]): ChatMessage<AnswerMeta>[] {
  return messages.map((m) => ({
    id: m.id,
    role: m.role,
    content: m.content,
    stopped: m.status === 'stopped',
    meta: m.role === 'assistant' ? { messageId: m.message_id, rating: m.feedback?.rating ?? null } : undefined,
  }));
}

/** Buttons that ask a question (the app's starters, or the questions suggested after an answer). */
function Questions({ title, questions, onAsk }: { title: string; questions: string[]; onAsk: (q: string) => void }) {
  if (questions.length === 0) return null;
  return (
    <Flex vertical gap={6} align="flex-start" style={{ marginTop: 8 }}>
      <Typography.Text type="secondary">{title}</Typography.Text>
      {questions.map((q) => (
        <Button
          key={q}
          size="small"
          onClick={() => onAsk(q)}
          style={{ maxWidth: '100%', whiteSpace: 'normal', height: 'auto' }}
        >
          {q}
        </Button>
      ))}
    </Flex>
  );
}

/** Seed 002's chat over the Dify proxy: conversations, streamed answers, suggestions and feedback. */
export function DifyChatPage() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const chat = useChatStream<AnswerMeta>();
  const [selected, setSelected] = useState<string | null>(null);
  const [suggestions, setSuggestions] = useState<string[]>([]);
  const parameters = useQuery({ queryKey: ['dify-parameters'], queryFn: difyApi.parameters, retry: false });
  const configured = parameters.isSuccess;
  const info = useQuery({ queryKey: ['dify-info'], queryFn: difyApi.info, enabled: configured });
  const conversations = useQuery({
    queryKey: DIFY_CONVERSATIONS_KEY,
    queryFn: difyApi.conversations,
    enabled: configured,
  });
  const refreshList = () => queryClient.invalidateQueries({ queryKey: DIFY_CONVERSATIONS_KEY });
  const fail = (error: Error) => void message.error(error.message);

  const startNew = () => {
    chat.clear();
    setSuggestions([]);
    setSelected(null);
  };
  const pick = async (id: string) => {
    setSuggestions([]);
    setSelected(id);
    try {
      chat.setMessages(toChat((await difyApi.messages(id)).data));
    } catch (error) {
      fail(error as Error);
    }
  };

  const send = (text: string) => {
    setSuggestions([]);
    const suggestAfter = parameters.data?.suggested_questions_after_answer?.enabled === true;
    let conversationId = selected ?? undefined;
    let messageId: string | undefined;
    let ended = false;
    void chat.send(text, async (turn) => {
      try {
        await streamDifyChat(
          { query: text, ...(selected ? { conversation_id: selected } : {}) },
          {
            signal: turn.signal,
            onText: turn.append,
            onReplace: turn.replace,
            onIds: (ids) => {
              conversationId = ids.conversationId ?? conversationId;
              if (ids.messageId && ids.messageId !== messageId) {
                messageId = ids.messageId;
                turn.meta({ messageId, rating: null });
              }
            },
            onEnd: (usage) => {
              ended = true;
              turn.meta({ usage });
            },
            onError: turn.fail,
          },
        );
      } finally {
        if (conversationId) setSelected(conversationId);
        void refreshList();
      }
      if (ended && messageId && suggestAfter) {
        const answer = await difyApi.suggested(messageId).catch(() => ({ data: [] }));
        setSuggestions(answer.data.map((q) => q.question));
      }
    });
  };

  const rate = async (m: ChatMessage<AnswerMeta>, rating: Rating) => {
    const messageId = m.meta?.messageId;
    if (!messageId) return;
    const next = m.meta?.rating === rating ? null : rating;
    try {
      await difyApi.feedback(messageId, next);
      chat.setMessages((all) => all.map((x) => (x.id === m.id ? { ...x, meta: { ...x.meta, rating: next } } : x)));
      void message.success(t('difyFeedbackSaved'));
    } catch (error) {
      fail(error as Error);
    }
  };

  const footer = (m: ChatMessage<AnswerMeta>) => {
    if (m.role !== 'assistant' || !m.meta?.messageId || m.streaming) return null;
    const rating = m.meta.rating;
    const usage = m.meta.usage;
    return (
      <Flex gap={4} align="center">
        <Button
          type="text"
          size="small"
          aria-label={t('difyLike')}
          aria-pressed={rating === 'like'}
          icon={rating === 'like' ? <LikeFilled /> : <LikeOutlined />}
          onClick={() => void rate(m, 'like')}
        />
        <Button
          type="text"
          size="small"
          aria-label={t('difyDislike')}
          aria-pressed={rating === 'dislike'}
          icon={rating === 'dislike' ? <DislikeFilled /> : <DislikeOutlined />}
          onClick={() => void rate(m, 'dislike')}
        />
        {usage?.prompt_tokens !== undefined && (
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {t('difyTokens', { prompt: usage.prompt_tokens, completion: usage.completion_tokens ?? 0 })}
          </Typography.Text>
        )}
      </Flex>
    );
  };

  if (parameters.isError) {
    const notConfigured = parameters.error instanceof ApiError && parameters.error.code === 'DIFY_NOT_CONFIGURED';
    return (
      <>
        <PageTitle>{t('navChat')}</PageTitle>
        {notConfigured ? (
          <Result status="info" title={t('difyNotConfigured')} />
        ) : (
          <Alert type="error" showIcon title={parameters.error.message} />
        )}
      </>
    );
  }

  const opening = parameters.data?.opening_statement;
  return (
    <>
      <PageTitle>{t('navChat')}</PageTitle>
      <Row gutter={[16, 16]}>
        <Col xs={24} md={8} xl={6}>
          <ConversationList
            conversations={conversations.data?.data ?? []}
            loading={parameters.isPending || conversations.isPending}
            selected={selected}
            busy={chat.streaming}
            onNew={startNew}
            onPick={(id) => void pick(id)}
            onRename={(id, name) =>
              difyApi.rename(id, name).then(() => {
                void message.success(t('difyRenamed'));
                return refreshList();
              }, fail)
            }
            onDelete={(id) =>
              difyApi.remove(id).then(() => {
                void message.success(t('difyDeleted'));
                if (id === selected) startNew();
                return refreshList();
              }, fail)
            }
          />
        </Col>
        <Col xs={24} md={16} xl={18}>
          <Card
            title={<h2 className="card-title">{info.data?.name ?? t('navChat')}</h2>}
            loading={parameters.isPending}
          >
            <ChatPanel
              label={t('difyMessages')}
              messages={chat.messages}
              streaming={chat.streaming}
              onSend={send}
              onStop={chat.stop}
              footer={footer}
              empty={
                <>
                  {opening && <Typography.Paragraph style={{ whiteSpace: 'pre-wrap' }}>{opening}</Typography.Paragraph>}
                  <Questions
                    title={t('difyStarters')}
                    questions={parameters.data?.suggested_questions ?? []}
                    onAsk={send}
                  />
                </>
              }
              after={
                chat.streaming ? null : <Questions title={t('difySuggested')} questions={suggestions} onAsk={send} />
              }
            />
          </Card>
        </Col>
      </Row>
    </>
  );
}
