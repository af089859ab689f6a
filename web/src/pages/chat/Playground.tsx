import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Card, Col, Form, Input, InputNumber, Row, Select, Typography } from 'antd';
import { api } from '@/api/client.ts';
import {
  fetchPlaygroundModels,
  PLAYGROUND_MODELS_KEY,
  streamPlayground,
  type PlaygroundBill,
  type PlaygroundRequest,
} from '@/api/chat.ts';
import type { Balance } from '@/api/types.ts';
import { ChatPanel } from '@/components/chat/ChatPanel.tsx';
import type { ChatMessage } from '@/components/chat/types.ts';
import { useChatStream } from '@/components/chat/useChatStream.ts';
import { number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';

interface Settings {
  model?: string;
  system?: string;
  temperature: number;
  maxTokens?: number | null;
}

interface AnswerMeta {
  bill?: PlaygroundBill;
}

/** The earlier turns sent again with a new question (answers that failed before any text are left out). */
function history(messages: ChatMessage<AnswerMeta>[]): PlaygroundRequest['messages'] {
  return messages.filter((m) => m.content !== '').map((m) => ({ role: m.role, content: m.content }));
}

/** Chat with a priced model through the session, paid and limited as /v1 is; each answer shows its tokens and cost. */
export function PlaygroundPage() {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<Settings>();
  const models = useQuery({ queryKey: PLAYGROUND_MODELS_KEY, queryFn: fetchPlaygroundModels });
  const balance = useQuery({ queryKey: ['balance'], queryFn: () => api<Balance>('/api/credits/balance') });
  const chat = useChatStream<AnswerMeta>();
  const chosen = Form.useWatch('model', form);
  const price = models.data?.items.find((m) => m.model === chosen);

  const send = (text: string) => {
    const settings = form.getFieldsValue();
    if (!settings.model) return;
    const system = settings.system?.trim();
    const request: PlaygroundRequest = {
      model: settings.model,
      messages: [
        ...(system ? [{ role: 'system' as const, content: system }] : []),
        ...history(chat.messages),
        { role: 'user', content: text },
      ],
      temperature: settings.temperature,
      ...(settings.maxTokens ? { max_tokens: settings.maxTokens } : {}),
    };
    void chat.send(text, (turn) =>
      streamPlayground(request, {
        signal: turn.signal,
        onText: turn.append,
        onError: turn.fail,
        onBill: (bill) => turn.meta({ bill }),
      }).finally(() => void queryClient.invalidateQueries({ queryKey: ['balance'] })),
    );
  };

  const footer = (message: ChatMessage<AnswerMeta>) => {
    const bill = message.meta?.bill;
    if (!bill) return null;
    return (
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
        {t('playgroundTokens', { prompt: number(bill.prompt_tokens), completion: number(bill.completion_tokens) })} ·{' '}
        {t('playgroundCost', { credits: number(bill.credits) })}
        {bill.usage_source === 'estimated' ? ` ${t('playgroundEstimated')}` : ''}
      </Typography.Text>
    );
  };

  const noModels = models.isSuccess && models.data.items.length === 0;
  return (
    <>
      <PageTitle
        extra={
          balance.data && (
            <Typography.Text strong>
              {t('playgroundAvailable', { credits: number(balance.data.available) })}
            </Typography.Text>
          )
        }
      >
        {t('navPlayground')}
      </PageTitle>
      {models.isError && <Alert type="error" showIcon title={models.error.message} style={{ marginBottom: 16 }} />}
      {noModels && <Alert type="info" showIcon title={t('playgroundNoModels')} style={{ marginBottom: 16 }} />}
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={8}>
          <Card title={<h2 className="card-title">{t('playgroundSettings')}</h2>} loading={models.isPending}>
            <Form
              form={form}
              layout="vertical"
              initialValues={{ temperature: 1, model: models.data?.items[0]?.model }}
              requiredMark={false}
            >
              <Form.Item
                name="model"
                label={t('playgroundModel')}
                extra={
                  price &&
                  t('playgroundPrice', { input: price.input, output: price.output, perRequest: price.perRequest })
                }
              >
                <Select
                  showSearch
                  options={models.data?.items.map((m) => ({ value: m.model, label: m.model }))}
                  disabled={chat.streaming}
                />
              </Form.Item>
              <Form.Item name="system" label={t('playgroundSystem')}>
                <Input.TextArea autoSize={{ minRows: 2, maxRows: 6 }} placeholder={t('playgroundSystemHint')} />
              </Form.Item>
              <Row gutter={12}>
                <Col span={12}>
                  <Form.Item name="temperature" label={t('playgroundTemperature')}>
                    <InputNumber min={0} max={2} step={0.1} style={{ width: '100%' }} />
                  </Form.Item>
                </Col>
                <Col span={12}>
                  <Form.Item name="maxTokens" label={t('playgroundMaxTokens')} tooltip={t('playgroundMaxTokensHint')}>
                    <InputNumber min={1} max={1_000_000} precision={0} style={{ width: '100%' }} />
                  </Form.Item>
                </Col>
              </Row>
              <Button onClick={chat.clear} disabled={chat.messages.length === 0} block>
                {t('playgroundClear')}
              </Button>
            </Form>
          </Card>
        </Col>
        <Col xs={24} lg={16}>
          <Card title={<h2 className="card-title">{t('playgroundConversation')}</h2>}>
            <ChatPanel
              label={t('playgroundConversation')}
              messages={chat.messages}
              streaming={chat.streaming}
              disabled={!chosen}
              onSend={send}
              onStop={chat.stop}
              footer={footer}
              empty={<Typography.Text type="secondary">{t('playgroundEmpty')}</Typography.Text>}
            />
          </Card>
        </Col>
      </Row>
    </>
  );
}
