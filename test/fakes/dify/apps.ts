/**
 * The apps a FakeDify serves (one API key → one app, as on Dify) and what the app metadata
 * endpoints answer for them: GET /info, /parameters, /meta, /site (dify-api.md §6).
 */
import { createHash } from 'node:crypto';

export type DifyAppMode = 'chat' | 'agent-chat' | 'advanced-chat' | 'completion' | 'workflow';

export interface FakeDifyAppInput {
  /** The app's API key (`Authorization: Bearer <key>`). */
  key: string;
  mode: DifyAppMode;
  name?: string;
  description?: string;
  /** Suggested questions after an answer (GET /messages/:id/suggested); default true. */
  suggested?: boolean;
  /** Text to speech (POST /text-to-audio); default true. */
  tts?: boolean;
  /** Speech to text (POST /audio-to-text); default true. */
  stt?: boolean;
}

export interface FakeDifyApp {
  key: string;
  mode: DifyAppMode;
  name: string;
  description: string;
  suggested: boolean;
  tts: boolean;
  stt: boolean;
  /** A UUID derived from the key (stable across runs). */
  id: string;
  /** The published workflow's id (workflow and advanced-chat events carry it). */
  workflowId: string;
  /** The workspace ("tenant") id files report. */
  tenantId: string;
}

export const CHAT_MODES: ReadonlySet<DifyAppMode> = new Set(['chat', 'agent-chat', 'advanced-chat']);
export const isChatApp = (app: FakeDifyApp) => CHAT_MODES.has(app.mode);

export const DEFAULT_DIFY_APPS: readonly FakeDifyAppInput[] = [
  { key: 'app-fake-chat', mode: 'chat', name: 'Fake Chat' },
  { key: 'app-fake-agent', mode: 'agent-chat', name: 'Fake Agent' },
  { key: 'app-fake-chatflow', mode: 'advanced-chat', name: 'Fake Chatflow' },
  { key: 'app-fake-completion', mode: 'completion', name: 'Fake Completion' },
  { key: 'app-fake-workflow', mode: 'workflow', name: 'Fake Workflow' },
];

/** A UUID-shaped digest of `text`: the same input gives the same id on every run. */
export function stableUuid(text: string): string {
  const hex = createHash('sha1').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function difyApp(input: FakeDifyAppInput): FakeDifyApp {
  return {
    key: input.key,
    mode: input.mode,
    name: input.name ?? `Fake ${input.mode}`,
    description: input.description ?? `A fake ${input.mode} app for tests.`,
    suggested: input.suggested ?? true,
    tts: input.tts ?? true,
    stt: input.stt ?? true,
    id: stableUuid(`app:${input.key}`),
    workflowId: stableUuid(`workflow:${input.key}`),
    tenantId: stableUuid('tenant:fake'),
  };
}

export function appInfo(app: FakeDifyApp) {
  return { name: app.name, description: app.description, tags: [], mode: app.mode, author_name: 'Fake Author' };
}

/** The form the app asks for: completion and workflow apps take a `query` input, chat apps an optional `context`. */
function inputForm(app: FakeDifyApp) {
  if (app.mode === 'completion')
    return [{ paragraph: { label: 'Query', variable: 'query', required: true, default: '' } }];
  if (app.mode === 'workflow')
    return [{ 'text-input': { label: 'Query', variable: 'query', required: true, max_length: 256, default: '' } }];
  return [{ paragraph: { label: 'Context', variable: 'context', required: false, default: '' } }];
}

export function appParameters(app: FakeDifyApp) {
  return {
    opening_statement: isChatApp(app) ? `Hello, I am ${app.name}.` : '',
    suggested_questions: isChatApp(app) ? ['What can you do?'] : [],
    suggested_questions_after_answer: { enabled: app.suggested },
    speech_to_text: { enabled: app.stt },
    text_to_speech: { enabled: app.tts, voice: 'alloy', language: 'en-US', autoPlay: 'disabled' },
    retriever_resource: { enabled: true },
    annotation_reply: { enabled: false },
    more_like_this: { enabled: false },
    sensitive_word_avoidance: { enabled: false, type: '', configs: [] },
    user_input_form: inputForm(app),
    file_upload: {
      image: { enabled: true, number_limits: 3, detail: 'high', transfer_methods: ['remote_url', 'local_file'] },
      enabled: true,
      allowed_file_types: ['image', 'document'],
      allowed_file_extensions: [],
      allowed_file_upload_methods: ['remote_url', 'local_file'],
      number_limits: 3,
    },
    system_parameters: {
      file_size_limit: 15,
      image_file_size_limit: 10,
      audio_file_size_limit: 50,
      video_file_size_limit: 100,
      workflow_file_upload_limit: 10,
    },
  };
}

export function appMeta(app: FakeDifyApp) {
  if (app.mode !== 'agent-chat') return { tool_icons: {} };
  return {
    tool_icons: {
      current_time: { background: '#252525', content: '⏰' },
      dalle3: 'https://fake.dify.local/icons/dalle3.svg',
    },
  };
}

export function appSite(app: FakeDifyApp) {
  return {
    title: app.name,
    chat_color_theme: null,
    chat_color_theme_inverted: false,
    icon_type: 'emoji',
    icon: '🤖',
    icon_background: '#FFEAD5',
    icon_url: null,
    description: app.description,
    copyright: null,
    privacy_policy: null,
    custom_disclaimer: '',
    default_language: 'en-US',
    show_workflow_steps: true,
    use_icon_as_answer_icon: false,
  };
}
