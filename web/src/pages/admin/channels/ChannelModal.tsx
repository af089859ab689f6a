import { Form, Input, InputNumber, Modal, Radio, Select, Space, Switch } from 'antd';
import {
  channelsApi,
  DIFY_APP_MODES,
  DIFY_PRICED_ENDPOINTS,
  type Channel,
  type ChannelBody,
  type DifyAppMode,
} from '@/api/admin-catalog.ts';
import { useFormModal } from '@/components/useFormModal.ts';
import { useI18n } from '@/i18n/index.tsx';

interface Fields {
  kind: 'openai' | 'dify';
  name: string;
  baseUrl: string;
  apiKey?: string;
  models?: string[];
  modelMap?: string;
  weight: number;
  priority: number;
  enabled: boolean;
  appMode?: DifyAppMode;
  input?: number | null;
  output?: number | null;
  maxCallCost?: number | null;
  endpoints?: Record<string, number | null | undefined>;
}

/** `asked=upstream` lines as the API's model map; a line without `=` is refused. */
export function parseModelMap(text: string | undefined): Record<string, string> | null {
  const map: Record<string, string> = {};
  for (const line of (text ?? '').split('\n').map((l) => l.trim())) {
    if (!line) continue;
    const [from, to, ...rest] = line.split('=').map((part) => part.trim());
    if (!from || !to || rest.length) return null;
    map[from] = to;
  }
  return map;
}

const defined = <T,>(value: T | null | undefined): value is T => value !== null && value !== undefined;

/** The body the form sends: on edit, an empty key field keeps the stored key. */
export function channelBody(fields: Fields, creating: boolean): ChannelBody {
  const body: ChannelBody = {
    name: fields.name.trim(),
    baseUrl: fields.baseUrl.trim(),
    weight: fields.weight,
    priority: fields.priority,
    enabled: fields.enabled,
    modelMap: parseModelMap(fields.modelMap) ?? {},
    ...(fields.apiKey?.trim() ? { apiKey: fields.apiKey.trim() } : {}),
    ...(fields.models?.length || fields.kind === 'openai' ? { models: fields.models ?? [] } : {}),
  };
  if (creating) body.kind = fields.kind;
  if (fields.kind === 'dify') {
    body.appMode = fields.appMode;
    const endpoints = Object.fromEntries(
      Object.entries(fields.endpoints ?? {}).filter((entry): entry is [string, number] => defined(entry[1])),
    );
    body.prices = {
      ...(defined(fields.input) ? { input: fields.input } : {}),
      ...(defined(fields.output) ? { output: fields.output } : {}),
      ...(defined(fields.maxCallCost) ? { maxCallCost: fields.maxCallCost } : {}),
      endpoints,
    };
  }
  return body;
}

function initialFields(channel: Channel | undefined): Partial<Fields> {
  if (!channel) return { kind: 'openai', weight: 1, priority: 0, enabled: true, appMode: 'chat' };
  return {
    kind: channel.kind,
    name: channel.name,
    baseUrl: channel.baseUrl,
    models: channel.models,
    modelMap: Object.entries(channel.modelMap)
      .map(([from, to]) => `${from}=${to}`)
      .join('\n'),
    weight: channel.weight,
    priority: channel.priority,
    enabled: channel.enabled,
    appMode: channel.appMode ?? 'chat',
    input: channel.prices?.input,
    output: channel.prices?.output,
    maxCallCost: channel.prices?.maxCallCost,
    endpoints: channel.prices?.endpoints,
  };
}

/** Create (`channel` = 'new') or edit a channel; undefined: closed. */
export function ChannelModal({
  channel,
  onClose,
  onSaved,
}: {
  channel: Channel | 'new' | undefined;
  onClose: () => void;
  onSaved: () => void;
}) {
  const { t } = useI18n();
  const creating = channel === 'new';
  const current = channel === 'new' ? undefined : channel;
  const { form, modalProps } = useFormModal<Fields>({
    open: channel !== undefined,
    savedMessage: t('acSaved'),
    onSaved,
    save: (fields) => {
      // A channel's kind is chosen when it is made (the switch is off when editing).
      const body = channelBody({ ...fields, kind: current?.kind ?? fields.kind }, creating);
      return current ? channelsApi.update(current.id, body) : channelsApi.create(body);
    },
  });
  const kind = Form.useWatch('kind', form) ?? current?.kind ?? 'openai';

  const credits = { min: 0, max: 1_000_000, style: { width: 150 } };
  return (
    <Modal
      {...modalProps}
      title={creating ? t('acNewChannel') : `${t('acEdit')}: ${current?.name ?? ''}`}
      onCancel={onClose}
    >
      <Form
        key={current?.id ?? 'new'}
        form={form}
        layout="vertical"
        requiredMark={false}
        initialValues={initialFields(current)}
      >
        <Form.Item name="kind" label={t('acKind')}>
          <Radio.Group
            disabled={!creating}
            options={[
              { value: 'openai', label: t('acKindOpenai') },
              { value: 'dify', label: t('acKindDify') },
            ]}
          />
        </Form.Item>
        <Form.Item name="name" label={t('name')} rules={[{ required: true, whitespace: true, message: t('required') }]}>
          <Input maxLength={64} />
        </Form.Item>
        <Form.Item
          name="baseUrl"
          label={t('acBaseUrl')}
          extra={kind === 'dify' ? t('acBaseUrlDifyHint') : t('acBaseUrlHint')}
          rules={[
            { required: true, message: t('required') },
            { pattern: /^https?:\/\/\S+$/, message: t('acBadUrl') },
          ]}
        >
          <Input maxLength={512} placeholder="https://api.openai.com/v1" />
        </Form.Item>
        <Form.Item
          name="apiKey"
          label={kind === 'dify' ? t('acAppKey') : t('acApiKey')}
          extra={creating ? t('acKeyWriteOnly') : t('acKeyKeep')}
          rules={creating ? [{ required: true, whitespace: true, message: t('required') }] : []}
        >
          <Input.Password autoComplete="new-password" maxLength={1024} />
        </Form.Item>
        {kind === 'openai' && (
          <>
            <Form.Item
              name="models"
              label={t('acModels')}
              extra={t('acModelsHint')}
              rules={[{ required: true, type: 'array', min: 1, message: t('required') }]}
            >
              <Select mode="tags" open={false} tokenSeparators={[',', ' ']} />
            </Form.Item>
            <Form.Item
              name="modelMap"
              label={t('acModelMap')}
              extra={t('acModelMapHint')}
              rules={[
                {
                  validator: (_, value: string | undefined) =>
                    parseModelMap(value) ? Promise.resolve() : Promise.reject(new Error(t('acModelMapBad'))),
                },
              ]}
            >
              <Input.TextArea autoSize={{ minRows: 1, maxRows: 6 }} />
            </Form.Item>
          </>
        )}
        {kind === 'dify' && (
          <fieldset style={{ border: 0, padding: 0, margin: 0 }}>
            <legend style={{ fontSize: 14, marginBottom: 8 }}>{t('acDifyApp')}</legend>
            <Form.Item name="appMode" label={t('acAppMode')} rules={[{ required: true, message: t('required') }]}>
              <Select options={DIFY_APP_MODES.map((mode) => ({ value: mode, label: mode }))} />
            </Form.Item>
            <Space wrap>
              <Form.Item name="input" label={t('acInputPer1k')}>
                <InputNumber {...credits} />
              </Form.Item>
              <Form.Item name="output" label={t('acOutputPer1k')}>
                <InputNumber {...credits} />
              </Form.Item>
              <Form.Item name="maxCallCost" label={t('acMaxCallCost')} extra={t('acMaxCallCostHint')}>
                <InputNumber min={1} max={1_000_000} precision={0} style={{ width: 150 }} />
              </Form.Item>
            </Space>
            <div style={{ marginBottom: 8 }}>{t('acEndpointPrices')}</div>
            <Space wrap>
              {DIFY_PRICED_ENDPOINTS.map((endpoint) => (
                <Form.Item key={endpoint} name={['endpoints', endpoint]} label={endpoint}>
                  <InputNumber {...credits} />
                </Form.Item>
              ))}
            </Space>
          </fieldset>
        )}
        <Space wrap>
          <Form.Item name="weight" label={t('acWeight')} extra={t('acWeightHint')}>
            <InputNumber min={0} max={1000} precision={0} style={{ width: 120 }} />
          </Form.Item>
          <Form.Item name="priority" label={t('acPriority')} extra={t('acPriorityHint')}>
            <InputNumber min={-1000} max={1000} precision={0} style={{ width: 120 }} />
          </Form.Item>
          <Form.Item name="enabled" label={t('enabled')} valuePropName="checked">
            <Switch />
          </Form.Item>
        </Space>
      </Form>
    </Modal>
  );
}
