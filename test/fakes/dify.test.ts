import type { Readable } from 'node:stream';
import { ChatClient, CompletionClient, DifyClient } from 'dify-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countTokens, DEFAULT_USER, FakeDify, generatedWords, parseDifyBehavior, usageOf } from '#test/fakes/dify.ts';
import { pythonJson } from '#test/fakes/dify/json.ts';
import { boundaryOf, parseMultipart } from '#test/fakes/dify/multipart.ts';

type Json = ReturnType<typeof JSON.parse>;

const CHAT = 'app-fake-chat';
const AGENT = 'app-fake-agent';
const CHATFLOW = 'app-fake-chatflow';
const COMPLETION = 'app-fake-completion';
const WORKFLOW = 'app-fake-workflow';
const PING_MS = 25;

let fake: FakeDify;
beforeAll(async () => {
  fake = await FakeDify.start({ pingIntervalMs: PING_MS });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

interface CallOptions {
  method?: string;
  body?: unknown;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

function send(key: string | undefined, path: string, options: CallOptions = {}): Promise<Response> {
  const url = new URL(`${fake.url}${path}`);
  for (const [name, value] of Object.entries(options.query ?? {})) url.searchParams.set(name, value);
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string' || options.body instanceof FormData
        ? options.body
        : JSON.stringify(options.body);
  const headers: Record<string, string> = {
    ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
    ...options.headers,
  };
  if (typeof body === 'string') headers['content-type'] ??= 'application/json';
  return fetch(url, {
    method: options.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

async function call(
  key: string | undefined,
  path: string,
  options: CallOptions = {},
): Promise<{ status: number; headers: Headers; json: Json; text: string }> {
  const response = await send(key, path, options);
  const text = await response.text();
  let json: Json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json, text };
}

interface Frame {
  event: string;
  data: Json;
  raw: string;
}

function parseFrame(raw: string): Frame {
  if (raw === 'event: ping') return { event: 'ping', data: undefined, raw };
  if (!raw.startsWith('data: ') || raw.includes('\n')) throw new Error(`not a Dify SSE frame: ${JSON.stringify(raw)}`);
  const data = JSON.parse(raw.slice(6));
  return { event: data.event, data, raw };
}

/** Splits SSE text on blank lines, as a client must (chunks do not align with frames). */
function framesOf(text: string): Frame[] {
  expect(text.endsWith('\n\n') || text === '').toBe(true);
  return text
    .split('\n\n')
    .filter((raw) => raw !== '')
    .map(parseFrame);
}

/** Reads a streaming answer frame by frame. */
class FrameReader {
  readonly frames: Frame[] = [];
  error: unknown;
  done = false;
  private buffer = '';
  private readonly decoder = new TextDecoder();

  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  async next(): Promise<Frame | undefined> {
    for (;;) {
      const at = this.buffer.indexOf('\n\n');
      if (at !== -1) {
        const frame = parseFrame(this.buffer.slice(0, at));
        this.buffer = this.buffer.slice(at + 2);
        this.frames.push(frame);
        return frame;
      }
      if (this.done) return undefined;
      try {
        const { value, done } = await this.reader.read();
        if (done) this.done = true;
        else this.buffer += this.decoder.decode(value, { stream: true });
      } catch (error) {
        this.error = error;
        this.done = true;
      }
    }
  }

  /** Reads until `count` data frames of `event` arrived. */
  async waitFor(event: string, count = 1): Promise<void> {
    while (this.frames.filter((f) => f.event === event).length < count) {
      if (!(await this.next())) throw new Error(`stream ended before ${count} × ${event}`);
    }
  }

  async rest(): Promise<Frame[]> {
    while (await this.next());
    return this.frames;
  }

  cancel(): Promise<void> {
    return this.reader.cancel();
  }
}

async function openStream(
  key: string,
  path: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ response: Response; reader: FrameReader }> {
  const response = await send(key, path, {
    body: { response_mode: 'streaming', inputs: {}, user: 'alice', ...body },
    headers,
  });
  expect(response.status).toBe(200);
  return { response, reader: new FrameReader(response.body!.getReader()) };
}

async function streamAll(
  key: string,
  path: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Frame[]> {
  const { reader } = await openStream(key, path, body, headers);
  return (await reader.rest()).filter((f) => f.event !== 'ping');
}

const chat = (body: Record<string, unknown>, headers: Record<string, string> = {}, key = CHAT) =>
  call(key, '/chat-messages', { body: { inputs: {}, user: 'alice', ...body }, headers });
const deltas = (frames: Frame[], event = 'message') => frames.filter((f) => f.event === event);
const joined = (frames: Frame[], event = 'message') =>
  deltas(frames, event)
    .map((f) => f.data.answer ?? f.data.data?.text)
    .join('');
const ECHO = (query: string) => `Echo: ${query}`;

describe('routing, auth and errors', () => {
  it('answers the welcome without auth at / and /v1/', async () => {
    for (const path of ['/', '/v1/']) {
      const response = await fetch(`${fake.origin}${path}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ welcome: 'Dify OpenAPI', api_version: 'v1' });
    }
  });

  it('rejects missing, schemeless, non-bearer and unknown keys with 401 and WWW-Authenticate', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{}, "Authorization header must be provided and start with 'Bearer'"],
      [{ authorization: 'Bearer' }, "Authorization header must be provided and start with 'Bearer'"],
      [{ authorization: 'Basic abc' }, "Authorization scheme must be 'Bearer'"],
      [{ authorization: 'Bearer app-nope' }, 'Access token is invalid'],
    ];
    for (const [headers, message] of cases) {
      const { status, json, headers: got } = await call(undefined, '/info', { headers });
      expect(status).toBe(401);
      expect(json).toEqual({ code: 'unauthorized', message, status: 401 });
      expect(got.get('www-authenticate')).toBe('Bearer realm="api"');
    }
    const lower = await call(undefined, '/info', { headers: { authorization: `bearer ${CHAT}` } });
    expect(lower.status).toBe(200);
  });

  it('routes before auth: unknown paths 404, wrong methods 405, non-UUID ids 404', async () => {
    expect((await call(undefined, '/nope')).json).toMatchObject({ code: 'not_found', status: 404 });
    expect((await call(CHAT, '/chat-messages')).json).toMatchObject({ code: 'method_not_allowed', status: 405 });
    expect((await call(CHAT, '/conversations/not-a-uuid', { method: 'DELETE', body: {} })).status).toBe(404);
  });

  it('answers bad or empty JSON bodies with 400 bad_request', async () => {
    const bad = await call(CHAT, '/chat-messages', { body: '{not json' });
    expect(bad.json).toEqual({
      code: 'bad_request',
      message: 'Invalid JSON payload received or JSON payload is empty.',
      status: 400,
    });
    const conversation = (await chat({ query: 'hi' })).json.conversation_id;
    const empty = await call(CHAT, `/conversations/${conversation}`, { method: 'DELETE' });
    expect(empty.json).toMatchObject({ code: 'bad_request', status: 400 });
  });

  it('gates routes by app mode', async () => {
    const notChat = await call(COMPLETION, '/chat-messages', { body: { inputs: {}, query: 'x', user: 'u' } });
    expect(notChat.json).toEqual({
      code: 'not_chat_app',
      message: 'Please check if your app mode matches the right API route.',
      status: 400,
    });
    expect((await call(WORKFLOW, '/messages', { query: { conversation_id: crypto.randomUUID() } })).json.code).toBe(
      'not_chat_app',
    );
    expect((await call(WORKFLOW, '/conversations')).json.code).toBe('not_chat_app');
    expect((await call(CHAT, '/completion-messages', { body: { inputs: {}, user: 'u' } })).json.code).toBe(
      'app_unavailable',
    );
    expect((await call(CHAT, '/workflows/run', { body: { inputs: {}, user: 'u' } })).json.code).toBe(
      'not_workflow_app',
    );
    expect((await call(CHAT, `/workflows/run/${crypto.randomUUID()}`)).json.code).toBe('not_workflow_app');
    expect((await call(COMPLETION, '/chat-messages/t/stop', { body: { user: 'u' } })).json.code).toBe('not_chat_app');
    const agent = await chat({ query: 'x' }, {}, AGENT);
    expect(agent.json).toEqual({
      code: 'invalid_param',
      message: 'Agent Chat App does not support blocking mode',
      status: 400,
    });
  });

  it('validates payloads with pydantic-worded invalid_param errors', async () => {
    const noQuery = await call(CHAT, '/chat-messages', { body: { inputs: {}, user: 'u' } });
    expect(noQuery.json).toMatchObject({ code: 'invalid_param', status: 400 });
    expect(noQuery.json.message).toContain('query');
    const noInputs = await call(CHAT, '/chat-messages', { body: { query: 'q', user: 'u' } });
    expect(noInputs.json.message).toContain('inputs');
    const mode = await chat({ query: 'q', response_mode: 'fast' });
    expect(mode.json.message).toContain("'blocking' or 'streaming'");
    const badId = await chat({ query: 'q', conversation_id: 'abc' });
    expect(badId.status).toBe(400);
    expect(badId.json.message).toContain('conversation_id must be a valid UUID');
  });
});

describe('the user field', () => {
  it('requires user where Dify does', async () => {
    const missing = await call(CHAT, '/chat-messages', { body: { inputs: {}, query: 'q' } });
    expect(missing.json).toEqual({ code: 'invalid_param', message: 'Arg user must be provided.', status: 400 });
    expect((await call(CHAT, '/chat-messages/t/stop', { body: {} })).json.message).toBe('Arg user must be provided.');
    const id = (await chat({ query: 'q' })).json.message_id;
    expect((await call(CHAT, `/messages/${id}/suggested`)).json.message).toBe('Arg user must be provided.');
    expect((await call(CHAT, `/messages/${id}/feedbacks`, { body: { rating: 'like' } })).status).toBe(400);
  });

  it('uses DEFAULT-USER where user is optional and absent', async () => {
    const created = await call(CHAT, '/chat-messages', { body: { inputs: {}, query: 'anon', user: DEFAULT_USER } });
    const list = await call(CHAT, '/conversations');
    expect(list.json.data.map((c: Json) => c.id)).toEqual([created.json.conversation_id]);
    expect(fake.conversationsOf(CHAT)).toHaveLength(1);
    expect(fake.store.findEndUser(CHAT, DEFAULT_USER)?.isAnonymous).toBe(true);
    expect((await call(CHAT, '/conversations', { query: { user: 'alice' } })).json.data).toEqual([]);
  });

  it('stringifies a non-string user', async () => {
    await call(CHAT, '/chat-messages', { body: { inputs: {}, query: 'n', user: 42 } });
    expect(fake.conversationsOf(CHAT, '42')).toHaveLength(1);
  });
});

describe('chat messages', () => {
  it('answers blocking with Dify’s shape and deterministic usage (inputs count, fake_behavior does not)', async () => {
    const query = 'What is the weather like today';
    const { status, json } = await chat({
      query,
      inputs: { context: 'sunny place', count: 3, fake_behavior: 'delay=0' },
    });
    expect(status).toBe(200);
    const prompt = countTokens(query) + countTokens('sunny place');
    const completion = countTokens(ECHO(query));
    expect(json).toMatchObject({
      event: 'message',
      mode: 'chat',
      answer: ECHO(query),
      metadata: { usage: usageOf(prompt, completion), retriever_resources: [] },
    });
    expect(json.id).toBe(json.message_id);
    for (const field of ['task_id', 'message_id', 'conversation_id']) expect(json[field]).toMatch(/^[0-9a-f-]{36}$/);
    expect(json.metadata.usage).toMatchObject({
      prompt_tokens: 8,
      prompt_price: '0.0000080',
      completion_tokens: 7,
      completion_price: '0.0000140',
      total_price: '0.0000220',
      currency: 'USD',
    });
    expect(typeof json.metadata.usage.latency).toBe('number');
    expect(json.created_at).toBeGreaterThan(1_600_000_000);
  });

  it('echoes only the first 64 tokens', async () => {
    const query = generatedWords(100);
    const { json } = await chat({ query });
    expect(countTokens(json.answer)).toBe(65);
    expect(json.metadata.usage.prompt_tokens).toBe(100);
  });

  it('streams one message event per token, with the chat envelope, then message_end with usage', async () => {
    const query = 'Tell me a short story';
    const response = await send(CHAT, '/chat-messages', {
      body: { inputs: {}, query, user: 'alice', response_mode: 'streaming' },
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const frames = framesOf(await response.text());
    const messages = deltas(frames);
    expect(messages).toHaveLength(countTokens(ECHO(query)));
    expect(joined(frames)).toBe(ECHO(query));
    const end = frames.at(-1)!;
    expect(end.event).toBe('message_end');
    for (const frame of frames) {
      expect(Object.keys(frame.data).slice(0, 5)).toEqual([
        'event',
        'conversation_id',
        'message_id',
        'created_at',
        'task_id',
      ]);
      expect(frame.data.message_id).toBe(end.data.message_id);
    }
    expect(end.data).toMatchObject({
      id: end.data.message_id,
      files: null,
      metadata: { usage: usageOf(countTokens(query), messages.length) },
    });
    expect(fake.stats).toMatchObject({ streamsStarted: 1, streamsCompleted: 1, streamsAborted: 0 });
    expect(fake.messagesOf(CHAT, end.data.conversation_id)[0]).toMatchObject({
      query,
      answer: ECHO(query),
      status: 'normal',
    });
  });

  it('sends ping frames every pingIntervalMs while a stream is open', async () => {
    const frames = await (
      await openStream(CHAT, '/chat-messages', { query: 'a b c' }, { 'x-fake-behavior': `chunk-delay=${PING_MS * 3}` })
    ).reader.rest();
    expect(frames.filter((f) => f.event === 'ping').length).toBeGreaterThanOrEqual(3);
    expect(frames.find((f) => f.event === 'ping')!.raw).toBe('event: ping');
    expect(frames.at(-1)!.event).toBe('message_end');
  });

  it('continues a conversation, names it after the first query, and keeps other users out', async () => {
    const first = await chat({ query: 'A rather long first question here' });
    const id = first.json.conversation_id;
    const second = await chat({ query: 'And a second one', conversation_id: id });
    expect(second.json.conversation_id).toBe(id);
    const [conversation] = fake.conversationsOf(CHAT, 'alice');
    expect(conversation).toMatchObject({ id, name: 'A rather long first ' });
    expect(fake.messagesOf(CHAT, id).map((m) => m.query)).toEqual([
      'A rather long first question here',
      'And a second one',
    ]);
    expect(fake.messagesOf(CHAT, id)[1]!.parentMessageId).toBe(first.json.message_id);

    const intruder = await call(CHAT, '/chat-messages', {
      body: { inputs: {}, query: 'x', user: 'mallory', conversation_id: id },
    });
    expect(intruder.json).toEqual({ code: 'not_found', message: 'Conversation Not Exists.', status: 404 });
    expect((await chat({ query: 'x', conversation_id: crypto.randomUUID() })).status).toBe(404);
    expect((await call(CHAT, '/messages', { query: { conversation_id: id, user: 'mallory' } })).status).toBe(404);
    expect((await call(AGENT, '/messages', { query: { conversation_id: id, user: 'alice' } })).status).toBe(404);
  });

  it('keeps "New conversation" when auto_generate_name is false', async () => {
    const { json } = await chat({ query: 'no title please', auto_generate_name: false });
    expect(fake.conversationsOf(CHAT, 'alice')[0]).toMatchObject({
      id: json.conversation_id,
      name: 'New conversation',
    });
  });

  it('streams agent thoughts and agent_message deltas', async () => {
    const frames = await streamAll(AGENT, '/chat-messages', { query: 'use a tool' });
    expect(frames.map((f) => f.event)).toEqual([
      'agent_thought',
      ...deltas(frames, 'agent_message').map(() => 'agent_message'),
      'agent_thought',
      'message_end',
    ]);
    expect(joined(frames, 'agent_message')).toBe(ECHO('use a tool'));
    expect(frames[0]!.data).toMatchObject({ position: 1, thought: '', tool: '', message_files: [] });
    expect(frames.at(-2)!.data.thought).toBe(ECHO('use a tool'));
    const [message] = fake.messagesOf(AGENT, frames[0]!.data.conversation_id);
    expect(message!.agentThought?.thought).toBe(ECHO('use a tool'));
  });

  it('streams a chatflow: workflow and node events, deltas, workflow_finished then message_end', async () => {
    const frames = await streamAll(CHATFLOW, '/chat-messages', { query: 'flow please' });
    const events = frames.map((f) => f.event);
    expect(events.slice(0, 4)).toEqual(['workflow_started', 'node_started', 'node_finished', 'node_started']);
    expect(events.slice(-2)).toEqual(['workflow_finished', 'message_end']);
    const llm = frames.find((f) => f.event === 'node_finished' && f.data.data.node_type === 'llm')!;
    const usage = frames.at(-1)!.data.metadata.usage;
    expect(llm.data.data.execution_metadata).toEqual({
      total_tokens: usage.total_tokens,
      total_price: usage.total_price,
      currency: 'USD',
    });
    expect(frames.at(-2)!.data.data).toMatchObject({
      status: 'succeeded',
      total_tokens: usage.total_tokens,
      outputs: { text: ECHO('flow please') },
    });
    expect(frames[0]!.data.workflow_run_id).toBe(frames[0]!.data.data.id);
    const run = await call(CHATFLOW, `/workflows/run/${frames[0]!.data.workflow_run_id}`);
    expect(run.json).toMatchObject({ status: 'succeeded', total_tokens: usage.total_tokens, inputs: '{}' });
    const blocking = await chat({ query: 'flow' }, {}, CHATFLOW);
    expect(blocking.json).toMatchObject({ mode: 'advanced-chat', answer: ECHO('flow') });
  });
});

describe('completion and workflow apps', () => {
  it('completes from query, inputs.query, or the inputs as JSON; no conversation_id', async () => {
    const fromQuery = await call(COMPLETION, '/completion-messages', {
      body: { inputs: {}, query: 'legacy text', user: 'u' },
    });
    expect(fromQuery.json).toMatchObject({ event: 'message', mode: 'completion', answer: ECHO('legacy text') });
    expect(fromQuery.json).not.toHaveProperty('conversation_id');
    const fromInput = await call(COMPLETION, '/completion-messages', {
      body: { inputs: { query: 'write a haiku' }, user: 'u' },
    });
    expect(fromInput.json.answer).toBe(ECHO('write a haiku'));
    expect(fromInput.json.metadata.usage.prompt_tokens).toBe(3);
    const fromJson = await call(COMPLETION, '/completion-messages', { body: { inputs: { topic: 'cats' }, user: 'u' } });
    expect(fromJson.json.answer).toBe(ECHO('{"topic":"cats"}'));
    const frames = await streamAll(COMPLETION, '/completion-messages', { inputs: { query: 'one two' } });
    expect(frames.every((f) => !('conversation_id' in f.data) && f.data.task_id)).toBe(true);
    expect(frames.at(-1)!.event).toBe('message_end');
  });

  it('runs a workflow blocking: outputs.text and total_tokens, and GET /workflows/run/:id', async () => {
    const inputs = { query: 'summarise this' };
    const { json } = await call(WORKFLOW, '/workflows/run', { body: { inputs, user: 'u' } });
    const answer = ECHO(JSON.stringify(inputs));
    expect(json.data).toEqual({
      id: json.workflow_run_id,
      workflow_id: expect.any(String),
      status: 'succeeded',
      outputs: { text: answer },
      error: null,
      elapsed_time: expect.any(Number),
      total_tokens: 2 + countTokens(answer),
      total_steps: 3,
      created_at: expect.any(Number),
      finished_at: expect.any(Number),
    });
    const run = await call(WORKFLOW, `/workflows/run/${json.workflow_run_id}`);
    expect(run.json).toMatchObject({
      id: json.workflow_run_id,
      status: 'succeeded',
      inputs: JSON.stringify(inputs),
      outputs: { text: answer },
      total_tokens: 2 + countTokens(answer),
    });
    expect((await call(WORKFLOW, `/workflows/run/${crypto.randomUUID()}`)).json).toEqual({
      code: 'not_found',
      message: 'Workflow run not found.',
      status: 404,
    });
  });

  it('streams a workflow: start → llm → end node events, text_chunk deltas, workflow_finished', async () => {
    const frames = await streamAll(WORKFLOW, '/workflows/run', { inputs: { query: 'stream it' } });
    const nodes = frames.filter((f) => f.event.startsWith('node_')).map((f) => `${f.event}:${f.data.data.node_type}`);
    expect(nodes).toEqual([
      'node_started:start',
      'node_finished:start',
      'node_started:llm',
      'node_finished:llm',
      'node_started:end',
      'node_finished:end',
    ]);
    for (const frame of frames)
      expect(Object.keys(frame.data)).toEqual(['event', 'workflow_run_id', 'task_id', 'data']);
    expect(joined(frames, 'text_chunk')).toBe(ECHO('{"query":"stream it"}'));
    const finished = frames.at(-1)!;
    expect(finished.event).toBe('workflow_finished');
    expect(finished.data.data).toMatchObject({
      status: 'succeeded',
      total_tokens: 2 + deltas(frames, 'text_chunk').length,
    });
    const llm = frames.find((f) => f.event === 'node_finished' && f.data.data.node_id === 'llm')!;
    expect(llm.data.data.execution_metadata).toMatchObject({
      total_tokens: finished.data.data.total_tokens,
      currency: 'USD',
      total_price: expect.stringMatching(/^0\.\d{7}$/),
    });
  });
});

describe('history and conversations', () => {
  async function conversationWith(count: number, user = 'alice'): Promise<string> {
    let id: string | undefined;
    for (let i = 1; i <= count; i++)
      id = (await chat({ query: `question ${i}`, user, ...(id ? { conversation_id: id } : {}) })).json.conversation_id;
    return id!;
  }

  it('pages GET /messages backwards by first_id, oldest first within a page', async () => {
    const id = await conversationWith(5);
    const page1 = await call(CHAT, '/messages', { query: { conversation_id: id, user: 'alice', limit: '2' } });
    expect(page1.json).toMatchObject({ limit: 2, has_more: true });
    expect(page1.json.data.map((m: Json) => m.query)).toEqual(['question 4', 'question 5']);
    expect(page1.json.data[1]).toMatchObject({
      answer: 'Echo: question 5',
      conversation_id: id,
      status: 'normal',
      feedback: null,
      message_files: [],
      agent_thoughts: [],
    });
    const page2 = await call(CHAT, '/messages', {
      query: { conversation_id: id, user: 'alice', limit: '2', first_id: page1.json.data[0].id },
    });
    expect(page2.json.data.map((m: Json) => m.query)).toEqual(['question 2', 'question 3']);
    const page3 = await call(CHAT, '/messages', {
      query: { conversation_id: id, user: 'alice', limit: '2', first_id: page2.json.data[0].id },
    });
    expect(page3.json).toMatchObject({ has_more: false, data: [{ query: 'question 1' }] });
    const unknown = await call(CHAT, '/messages', {
      query: { conversation_id: id, user: 'alice', first_id: crypto.randomUUID() },
    });
    expect(unknown.json).toEqual({ code: 'not_found', message: 'First Message Not Exists.', status: 404 });
    expect((await call(CHAT, '/messages', { query: { user: 'alice' } })).json.code).toBe('invalid_param');
    expect(
      (await call(CHAT, '/messages', { query: { conversation_id: id, user: 'alice', limit: '101' } })).json.code,
    ).toBe('invalid_param');
  });

  it('pages GET /conversations by last_id, sorts, and 404s an unknown last_id', async () => {
    const ids = [await conversationWith(1), await conversationWith(1), await conversationWith(1)];
    await chat({ query: 'bump', conversation_id: ids[0] });
    const page1 = await call(CHAT, '/conversations', { query: { user: 'alice', limit: '2' } });
    expect(page1.json).toMatchObject({ limit: 2, has_more: true });
    expect(page1.json.data.map((c: Json) => c.id)).toEqual([ids[0], ids[2]]);
    expect(page1.json.data[0]).toEqual({
      id: ids[0],
      name: 'question 1',
      inputs: {},
      status: 'normal',
      introduction: '',
      created_at: expect.any(Number),
      updated_at: expect.any(Number),
    });
    const page2 = await call(CHAT, '/conversations', { query: { user: 'alice', limit: '2', last_id: ids[2]! } });
    expect(page2.json).toMatchObject({ has_more: false, data: [{ id: ids[1] }] });
    const oldest = await call(CHAT, '/conversations', { query: { user: 'alice', sort_by: 'created_at' } });
    expect(oldest.json.data.map((c: Json) => c.id)).toEqual(ids);
    expect(fake.conversationsOf(CHAT, 'alice').map((c) => c.id)).toEqual([...ids].reverse());
    const unknown = await call(CHAT, '/conversations', { query: { user: 'alice', last_id: crypto.randomUUID() } });
    expect(unknown.json).toEqual({ code: 'not_found', message: 'Last Conversation Not Exists.', status: 404 });
    expect((await call(CHAT, '/conversations', { query: { sort_by: 'name' } })).json.code).toBe('invalid_param');
    expect((await call(CHAT, '/conversations', { query: { user: 'bob' } })).json.data).toEqual([]);
  });

  it('renames by name or auto_generate, and deletes (204) only the owner’s conversation', async () => {
    const id = await conversationWith(2);
    const renamed = await call(CHAT, `/conversations/${id}/name`, { body: { name: 'Trip plans', user: 'alice' } });
    expect(renamed.json).toMatchObject({ id, name: 'Trip plans', status: 'normal' });
    const auto = await call(CHAT, `/conversations/${id}/name`, { body: { auto_generate: true, user: 'alice' } });
    expect(auto.json.name).toBe('question 1');
    expect((await call(CHAT, `/conversations/${id}/name`, { body: { user: 'alice' } })).json.code).toBe(
      'invalid_param',
    );
    expect((await call(CHAT, `/conversations/${id}/name`, { body: { name: 'x', user: 'bob' } })).status).toBe(404);

    expect((await call(CHAT, `/conversations/${id}`, { method: 'DELETE', body: { user: 'bob' } })).status).toBe(404);
    const deleted = await call(CHAT, `/conversations/${id}`, { method: 'DELETE', body: { user: 'alice' } });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect(fake.conversationsOf(CHAT, 'alice')).toEqual([]);
    expect((await chat({ query: 'again', conversation_id: id })).status).toBe(404);
    expect((await call(CHAT, `/conversations/${id}`, { method: 'DELETE', body: { user: 'alice' } })).status).toBe(404);
  });

  it('lists two conversation variables, filtered by name', async () => {
    const id = await conversationWith(3);
    const all = await call(CHAT, `/conversations/${id}/variables`, { query: { user: 'alice' } });
    expect(all.json).toMatchObject({ limit: 20, has_more: false });
    expect(all.json.data.map((v: Json) => [v.name, v.value_type, v.value])).toEqual([
      ['topic', 'string', 'question 1'],
      ['turns', 'number', '3'],
    ]);
    const one = await call(CHAT, `/conversations/${id}/variables`, {
      query: { user: 'alice', variable_name: 'turns' },
    });
    expect(one.json.data).toHaveLength(1);
    const paged = await call(CHAT, `/conversations/${id}/variables`, { query: { user: 'alice', limit: '1' } });
    expect(paged.json).toMatchObject({ has_more: true, data: [{ name: 'topic' }] });
    expect((await call(CHAT, `/conversations/${id}/variables`, { query: { user: 'bob' } })).status).toBe(404);
  });

  it('records feedback per message (owner only), lists it app-wide, and revokes with null', async () => {
    const { json } = await chat({ query: 'rate me' });
    const path = `/messages/${json.message_id}/feedbacks`;
    expect((await call(CHAT, path, { body: { rating: 'like', user: 'alice', content: 'nice' } })).json).toEqual({
      result: 'success',
    });
    expect((await call(CHAT, path, { body: { rating: 'like', user: 'bob' } })).json).toEqual({
      code: 'not_found',
      message: 'Message Not Exists.',
      status: 404,
    });
    expect((await call(CHAT, path, { body: { rating: 'great', user: 'alice' } })).json.code).toBe('invalid_param');
    const history = await call(CHAT, '/messages', { query: { conversation_id: json.conversation_id, user: 'alice' } });
    expect(history.json.data[0].feedback).toEqual({ rating: 'like' });
    const list = await call(CHAT, '/app/feedbacks');
    expect(list.json.data).toEqual([
      expect.objectContaining({
        message_id: json.message_id,
        conversation_id: json.conversation_id,
        rating: 'like',
        content: 'nice',
        from_source: 'user',
        from_account_id: null,
        app_id: fake.apps.get(CHAT)!.id,
      }),
    ]);
    expect(list.json.data[0].created_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    await call(CHAT, path, { body: { rating: null, user: 'alice' } });
    expect((await call(CHAT, '/app/feedbacks')).json.data).toEqual([]);
  });

  it('suggests three questions for the owner’s message only', async () => {
    const { json } = await chat({ query: 'suggest things' });
    const suggested = await call(CHAT, `/messages/${json.message_id}/suggested`, { query: { user: 'alice' } });
    expect(suggested.json).toEqual({
      result: 'success',
      data: [expect.any(String), expect.any(String), expect.any(String)],
    });
    expect((await call(CHAT, `/messages/${json.message_id}/suggested`, { query: { user: 'bob' } })).status).toBe(404);
    expect(
      (await call(COMPLETION, `/messages/${json.message_id}/suggested`, { query: { user: 'alice' } })).json.code,
    ).toBe('not_chat_app');
  });

  it('answers 400 for suggested questions, TTS and STT when the app has them off', async () => {
    const quiet = await FakeDify.start({
      apps: [{ key: 'app-quiet', mode: 'chat', suggested: false, tts: false, stt: false }],
    });
    const request = async (path: string, body?: unknown): Promise<Json> => {
      const init =
        body === undefined ? {} : { method: 'POST', body: body instanceof FormData ? body : JSON.stringify(body) };
      const headers: Record<string, string> = {
        authorization: 'Bearer app-quiet',
        ...(body === undefined || body instanceof FormData ? {} : { 'content-type': 'application/json' }),
      };
      return (await fetch(`${quiet.url}${path}`, { ...init, headers })).json();
    };
    try {
      const message = await request('/chat-messages', { inputs: {}, query: 'q', user: 'u' });
      expect(await request(`/messages/${message.message_id}/suggested?user=u`)).toEqual({
        code: 'bad_request',
        message: 'Suggested Questions Is Disabled.',
        status: 400,
      });
      expect(await request('/parameters')).toMatchObject({
        suggested_questions_after_answer: { enabled: false },
        text_to_speech: { enabled: false },
        speech_to_text: { enabled: false },
      });
      expect(await request('/text-to-audio', { text: 'hi', user: 'u' })).toEqual({
        code: 'invalid_param',
        message: 'TTS is not enabled',
        status: 400,
      });
      const audio = new FormData();
      audio.append('file', new Blob([Buffer.alloc(4)], { type: 'audio/wav' }), 'a.wav');
      expect(await request('/audio-to-text', audio)).toEqual({
        code: 'invalid_param',
        message: 'Speech to text is not enabled',
        status: 400,
      });
    } finally {
      await quiet.close();
    }
  });
});

describe('stop', () => {
  it('ends a running chat stream with message_end carrying the usage produced so far', async () => {
    const { reader } = await openStream(
      CHAT,
      '/chat-messages',
      { query: 'stop me' },
      { 'x-fake-behavior': 'words=40; chunk-delay=30' },
    );
    await reader.waitFor('message', 3);
    const taskId = reader.frames.find((f) => f.event === 'message')!.data.task_id;
    expect((await call(CHAT, `/chat-messages/${taskId}/stop`, { body: { user: 'alice' } })).json).toEqual({
      result: 'success',
    });
    const frames = (await reader.rest()).filter((f) => f.event !== 'ping');
    const produced = deltas(frames).length;
    expect(produced).toBeLessThan(40);
    expect(frames.at(-1)!.event).toBe('message_end');
    expect(frames.at(-1)!.data.metadata.usage).toEqual(usageOf(countTokens('stop me'), produced));
    expect(fake.stops).toEqual([{ taskId, user: 'alice', path: `/v1/chat-messages/${taskId}/stop` }]);
    expect(fake.stats.stops).toBe(1);
    const [message] = fake.messagesOf(CHAT, frames[0]!.data.conversation_id);
    expect(message).toMatchObject({ answer: joined(frames), completionTokens: produced });
  });

  it('ignores (with success) a stop by another user or for an unknown task', async () => {
    const { reader } = await openStream(
      CHAT,
      '/chat-messages',
      { query: 'keep going' },
      { 'x-fake-behavior': 'words=8; chunk-delay=15' },
    );
    await reader.waitFor('message');
    const taskId = reader.frames[0]!.data.task_id;
    expect((await call(CHAT, `/chat-messages/${taskId}/stop`, { body: { user: 'mallory' } })).json).toEqual({
      result: 'success',
    });
    expect((await call(CHAT, '/chat-messages/no-such-task/stop', { body: { user: 'alice' } })).json).toEqual({
      result: 'success',
    });
    const frames = (await reader.rest()).filter((f) => f.event !== 'ping');
    expect(deltas(frames)).toHaveLength(8);
    expect(frames.at(-1)!.data.metadata.usage.completion_tokens).toBe(8);
    expect(fake.stops.map((s) => s.user)).toEqual(['mallory', 'alice']);
  });

  it('stops a workflow run (any user) with workflow_finished status stopped', async () => {
    const { reader } = await openStream(
      WORKFLOW,
      '/workflows/run',
      { inputs: { query: 'x' } },
      { 'x-fake-behavior': 'words=30; chunk-delay=25' },
    );
    await reader.waitFor('text_chunk', 2);
    const taskId = reader.frames.find((f) => f.event === 'text_chunk')!.data.task_id;
    await call(WORKFLOW, `/workflows/tasks/${taskId}/stop`, { body: { user: 'someone-else' } });
    const frames = (await reader.rest()).filter((f) => f.event !== 'ping');
    const finished = frames.at(-1)!;
    expect(finished.event).toBe('workflow_finished');
    expect(finished.data.data).toMatchObject({
      status: 'stopped',
      total_tokens: 1 + deltas(frames, 'text_chunk').length,
    });
    const run = await call(WORKFLOW, `/workflows/run/${finished.data.workflow_run_id}`);
    expect(run.json.status).toBe('stopped');
  });

  it('stops a completion stream, and a chatflow with workflow_finished stopped and message_end', async () => {
    const completion = await openStream(
      COMPLETION,
      '/completion-messages',
      { inputs: { query: 'abc' } },
      { 'x-fake-behavior': 'words=30; chunk-delay=25' },
    );
    await completion.reader.waitFor('message', 2);
    await call(COMPLETION, `/completion-messages/${completion.reader.frames[0]!.data.task_id}/stop`, {
      body: { user: 'alice' },
    });
    expect((await completion.reader.rest()).at(-1)!.event).toBe('message_end');

    const flow = await openStream(
      CHATFLOW,
      '/chat-messages',
      { query: 'abc' },
      { 'x-fake-behavior': 'words=30; chunk-delay=25' },
    );
    await flow.reader.waitFor('message', 2);
    await call(CHATFLOW, `/chat-messages/${flow.reader.frames[0]!.data.task_id}/stop`, { body: { user: 'alice' } });
    const frames = (await flow.reader.rest()).filter((f) => f.event !== 'ping');
    expect(frames.slice(-2).map((f) => f.event)).toEqual(['workflow_finished', 'message_end']);
    expect(frames.at(-2)!.data.data.status).toBe('stopped');
    expect(frames.at(-1)!.data.metadata.usage.completion_tokens).toBe(deltas(frames).length);
  });

  it('with stop-wait keeps sending deltas for a while before the end', async () => {
    const { reader } = await openStream(
      CHAT,
      '/chat-messages',
      { query: 'slow stop' },
      { 'x-fake-behavior': 'words=200; chunk-delay=10; stop-wait=120' },
    );
    await reader.waitFor('message', 2);
    await call(CHAT, `/chat-messages/${reader.frames[0]!.data.task_id}/stop`, { body: { user: 'alice' } });
    const atStop = deltas(reader.frames).length;
    const frames = await reader.rest();
    expect(deltas(frames).length).toBeGreaterThan(atStop + 3);
    expect(frames.at(-1)!.data.metadata.usage.completion_tokens).toBe(deltas(frames).length);
  });
});

describe('behaviours', () => {
  it('status=N answers Dify’s envelope with a code per status', async () => {
    const expected: Array<[number, string]> = [
      [400, 'invalid_param'],
      [401, 'unauthorized'],
      [403, 'forbidden'],
      [404, 'not_found'],
      [429, 'too_many_requests'],
      [500, 'internal_server_error'],
      [503, 'service_unavailable'],
    ];
    for (const [status, code] of expected) {
      const reply = await chat({ query: 'x' }, { 'x-fake-behavior': `status=${status}` });
      expect(reply.status).toBe(status);
      expect(reply.json).toMatchObject({ code, status, message: expect.any(String) });
    }
    const limited = await chat({ query: 'x' }, { 'x-fake-behavior': 'status=429' });
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.json.message).toMatch(/^Too many requests\. Please try again later\./);
    expect(
      (await chat({ query: 'x' }, { 'x-fake-behavior': 'status=429; retry-after=none' })).headers.get('retry-after'),
    ).toBeNull();
    expect((await chat({ query: 'x' }, { 'x-fake-behavior': 'status=401' })).headers.get('www-authenticate')).toBe(
      'Bearer realm="api"',
    );
    const custom = await chat(
      { query: 'x' },
      { 'x-fake-behavior': 'status=400; code=provider_quota_exceeded; message=no%20quota' },
    );
    expect(custom.json).toEqual({ code: 'provider_quota_exceeded', message: 'no quota', status: 400 });
    const gateway = await chat({ query: 'x' }, { 'x-fake-behavior': 'status=502' });
    expect(gateway.status).toBe(502);
    expect(gateway.headers.get('content-type')).toBe('text/html');
    expect(gateway.text).toContain('502 Bad Gateway');
  });

  it('takes behaviours from inputs.fake_behavior, fake_behavior, the header, always() and next()', async () => {
    expect((await chat({ query: 'x', inputs: { fake_behavior: 'status=403' } })).status).toBe(403);
    expect((await chat({ query: 'x', fake_behavior: 'text=top level' })).json.answer).toBe('top level');
    fake.always('text=always');
    expect((await chat({ query: 'x' })).json.answer).toBe('always');
    expect((await chat({ query: 'x' }, { 'x-fake-behavior': 'text=header wins' })).json.answer).toBe('header wins');
    fake.always();
    fake.next('status=500', { path: '/chat-messages', times: 2 });
    expect((await call(CHAT, '/parameters')).status).toBe(200);
    expect((await chat({ query: 'x' })).status).toBe(500);
    expect((await chat({ query: 'x' })).status).toBe(500);
    expect((await chat({ query: 'x' })).status).toBe(200);
    fake.next({ text: 'object form' }, 1);
    expect((await chat({ query: 'x' })).json.answer).toBe('object form');
    const bad = await chat({ query: 'x' }, { 'x-fake-behavior': 'explode' });
    expect(bad.json).toMatchObject({ code: 'fake_behavior_invalid', status: 400 });
  });

  it('delay waits before answering; hang never answers (the client aborts)', async () => {
    const started = Date.now();
    await chat({ query: 'x' }, { 'x-fake-behavior': 'delay=120' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
    await expect(
      send(CHAT, '/chat-messages', {
        body: { inputs: {}, query: 'x', user: 'u' },
        headers: { 'x-fake-behavior': 'hang' },
        signal: AbortSignal.timeout(80),
      }),
    ).rejects.toThrow();
    await fake.until((f) => f.stats.clientAborts === 1 && f.stats.inFlight === 0);
  });

  it('chunk-delay spaces the events out', async () => {
    const started = Date.now();
    const frames = await streamAll(CHAT, '/chat-messages', { query: 'a b c' }, { 'x-fake-behavior': 'chunk-delay=30' });
    expect(frames).toHaveLength(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4 * 30 - 10);
  });

  it('stall-after keeps the stream open (pinging) until the client leaves', async () => {
    const { reader } = await openStream(
      CHAT,
      '/chat-messages',
      { query: 'a b c d' },
      { 'x-fake-behavior': 'stall-after=2' },
    );
    await reader.waitFor('message', 2);
    await reader.waitFor('ping', 2);
    expect(deltas(reader.frames)).toHaveLength(2);
    await reader.cancel();
    await fake.until((f) => f.stats.streamsAborted === 1);
    expect(fake.stats).toMatchObject({ streamsStarted: 1, streamsCompleted: 0, clientAborts: 1 });
    const blocking = await send(CHAT, '/chat-messages', {
      body: { inputs: {}, query: 'x', user: 'u' },
      headers: { 'x-fake-behavior': 'stall-after=0' },
      signal: AbortSignal.timeout(60),
    }).catch((error: unknown) => error);
    expect(blocking).toBeInstanceOf(Error);
  });

  it('no-ping leaves the ping frames out', async () => {
    const { reader } = await openStream(
      CHAT,
      '/chat-messages',
      { query: 'a b' },
      { 'x-fake-behavior': `chunk-delay=${PING_MS * 3}; no-ping` },
    );
    expect((await reader.rest()).filter((f) => f.event === 'ping')).toEqual([]);
  });

  it('reset-after drops the connection mid-stream (and blocking answers unanswered)', async () => {
    for (const spec of ['reset-after=2', 'reset-after=2; rst']) {
      const { reader } = await openStream(CHAT, '/chat-messages', { query: 'a b c d e' }, { 'x-fake-behavior': spec });
      const frames = await reader.rest();
      expect(deltas(frames)).toHaveLength(2);
      expect(reader.error).toBeDefined();
    }
    await expect(chat({ query: 'x' }, { 'x-fake-behavior': 'reset-after=0' })).rejects.toThrow();
    expect(fake.stats.resets).toBe(3);
    expect(fake.stats.streamsAborted).toBe(0);
  });

  it('error-after sends an error event (no task_id, no message_end); blocking turns it into HTTP', async () => {
    const frames = await streamAll(
      CHAT,
      '/chat-messages',
      { query: 'a b c d' },
      { 'x-fake-behavior': 'error-after=2' },
    );
    expect(frames.map((f) => f.event)).toEqual(['message', 'message', 'error']);
    const error = frames[2]!.data;
    expect(error).toMatchObject({
      status: 500,
      code: 'internal_server_error',
      message: 'Internal Server Error, please contact support.',
      conversation_id: frames[0]!.data.conversation_id,
    });
    expect(error).not.toHaveProperty('task_id');
    const [message] = fake.messagesOf(CHAT, error.conversation_id);
    expect(message).toMatchObject({ status: 'error', answer: joined(frames) });

    const coded = await streamAll(
      CHAT,
      '/chat-messages',
      { query: 'a' },
      { 'x-fake-behavior': 'error-after=0; code=provider_quota_exceeded' },
    );
    expect(coded).toEqual([
      expect.objectContaining({
        event: 'error',
        data: expect.objectContaining({ status: 400, code: 'provider_quota_exceeded' }),
      }),
    ]);

    const flow = await streamAll(
      CHATFLOW,
      '/chat-messages',
      { query: 'a b c' },
      { 'x-fake-behavior': 'error-after=5; message=model%20down' },
    );
    expect(flow.slice(-2).map((f) => f.event)).toEqual(['workflow_finished', 'error']);
    expect(flow.at(-2)!.data.data).toMatchObject({ status: 'failed', error: 'model down' });

    const blocking = await chat({ query: 'x' }, { 'x-fake-behavior': 'error-after=1; code=completion_request_error' });
    expect(blocking.json).toEqual({
      code: 'completion_request_error',
      message: 'Completion request failed.',
      status: 400,
    });
    const workflow = await call(WORKFLOW, '/workflows/run', {
      body: { inputs: {}, user: 'u', fake_behavior: 'error-after=1; message=boom' },
    });
    expect(workflow.status).toBe(200);
    expect(workflow.json.data).toMatchObject({ status: 'failed', error: 'boom', outputs: {} });
  });

  it('no-end stops after the deltas without a terminal event', async () => {
    const frames = await streamAll(CHAT, '/chat-messages', { query: 'a b' }, { 'x-fake-behavior': 'no-end' });
    expect(frames.map((f) => f.event)).toEqual(['message', 'message', 'message']);
    const flow = await streamAll(WORKFLOW, '/workflows/run', { inputs: {} }, { 'x-fake-behavior': 'no-end' });
    expect(flow.some((f) => f.event === 'workflow_finished')).toBe(false);
    expect(fake.stats.streamsCompleted).toBe(2);
  });

  it('text= and words= set the answer', async () => {
    expect((await chat({ query: 'x' }, { 'x-fake-behavior': 'text=Hi%3B there' })).json.answer).toBe('Hi; there');
    const frames = await streamAll(CHAT, '/chat-messages', { query: 'x' }, { 'x-fake-behavior': 'words=50' });
    expect(deltas(frames)).toHaveLength(50);
    expect(joined(frames)).toBe(generatedWords(50));
  });

  it('usage=P,C forces the counts; usage=none leaves usage out', async () => {
    expect((await chat({ query: 'x' }, { 'x-fake-behavior': 'usage=1000,200' })).json.metadata.usage).toEqual(
      usageOf(1000, 200),
    );
    expect(usageOf(1033, 128)).toMatchObject({
      prompt_price: '0.0010330',
      completion_price: '0.0002560',
      total_price: '0.0012890',
    });
    const none = await streamAll(CHAT, '/chat-messages', { query: 'x' }, { 'x-fake-behavior': 'usage=none' });
    expect(none.at(-1)!.data.metadata).toEqual({ retriever_resources: [] });
    const flow = await streamAll(WORKFLOW, '/workflows/run', { inputs: {} }, { 'x-fake-behavior': 'usage=none' });
    expect(flow.at(-1)!.data.data).not.toHaveProperty('total_tokens');
    expect(
      flow.find((f) => f.data.data?.node_type === 'llm' && f.event === 'node_finished')!.data.data.execution_metadata,
    ).toEqual({});
  });

  it('replace= sends message_replace before message_end and stores the replacement', async () => {
    const frames = await streamAll(
      CHAT,
      '/chat-messages',
      { query: 'bad words' },
      { 'x-fake-behavior': 'replace=[redacted]' },
    );
    expect(frames.slice(-2).map((f) => f.event)).toEqual(['message_replace', 'message_end']);
    expect(frames.at(-2)!.data).toMatchObject({ answer: '[redacted]', reason: 'output_moderation' });
    expect(fake.messagesOf(CHAT, frames[0]!.data.conversation_id)[0]!.answer).toBe('[redacted]');
    expect((await chat({ query: 'x' }, { 'x-fake-behavior': 'replace=clean' })).json.answer).toBe('clean');
  });

  it('annotation puts annotation_reply in metadata with a zero usage', async () => {
    const { json } = await chat({ query: 'known question' }, { 'x-fake-behavior': 'annotation' });
    expect(json.metadata.annotation_reply).toMatchObject({ id: expect.any(String), account: { name: 'Fake Admin' } });
    expect(json.metadata.usage).toMatchObject({
      prompt_tokens: 0,
      completion_tokens: 0,
      total_tokens: 0,
      total_price: '0',
      currency: 'USD',
    });
  });

  it('order=message-first puts message_end before workflow_finished in a chatflow', async () => {
    const frames = await streamAll(
      CHATFLOW,
      '/chat-messages',
      { query: 'x' },
      { 'x-fake-behavior': 'order=message-first' },
    );
    expect(frames.slice(-2).map((f) => f.event)).toEqual(['message_end', 'workflow_finished']);
  });

  it('spaced writes Python json.dumps style JSON', async () => {
    const { reader } = await openStream(
      CHAT,
      '/chat-messages',
      { query: 'héllo wörld' },
      { 'x-fake-behavior': 'spaced' },
    );
    const frames = await reader.rest();
    expect(frames[0]!.raw).toMatch(/^data: \{"event": "message", "conversation_id": "/);
    expect(frames.map((f) => f.raw).join('')).toContain('h\\u00e9llo');
    expect(joined(frames)).toBe('Echo: héllo wörld');
    expect((await chat({ query: 'x' }, { 'x-fake-behavior': 'spaced' })).text).toMatch(/^\{"event": "message", /);
    expect(pythonJson({ a: [1, true, null], b: 'é' })).toBe('{"a": [1, true, null], "b": "\\u00e9"}');
  });

  it('parses specs and rejects bad ones', () => {
    expect(
      parseDifyBehavior('status=429; code=rate_limit_error; usage=3,4; order=message-first; no-end; stop-wait=5'),
    ).toEqual({
      status: 429,
      code: 'rate_limit_error',
      usage: { prompt_tokens: 3, completion_tokens: 4 },
      order: 'message-first',
      noEnd: true,
      stopWait: 5,
    });
    for (const bad of ['nope', 'status=abc', 'usage=1', 'order=sideways', 'status=99'])
      expect(() => parseDifyBehavior(bad)).toThrow(/fake:/);
  });
});

describe('files and audio', () => {
  const form = (parts: Array<[string, string | Blob, string?]>) => {
    const data = new FormData();
    for (const [name, value, filename] of parts) {
      if (typeof value === 'string') data.append(name, value);
      else data.append(name, value, filename);
    }
    return data;
  };
  const png = () => new Blob([Buffer.from('89504e470d0a1a0a', 'hex')], { type: 'image/png' });

  it('uploads a file (201) for the form’s user, records the parts, and lets only that user attach it', async () => {
    const { status, json } = await call(CHAT, '/files/upload', {
      body: form([
        ['file', png(), 'pic.png'],
        ['user', 'alice'],
      ]),
    });
    expect(status).toBe(201);
    expect(json).toMatchObject({
      id: expect.any(String),
      name: 'pic.png',
      size: 8,
      extension: 'png',
      mime_type: 'image/png',
      created_by: fake.store.findEndUser(CHAT, 'alice')!.id,
      preview_url: null,
    });
    expect(fake.lastRequest('/files/upload')!.body).toEqual({
      fields: { user: 'alice' },
      files: [{ field: 'file', filename: 'pic.png', mimeType: 'image/png', size: 8 }],
    });
    const files = [{ type: 'image', transfer_method: 'local_file', upload_file_id: json.id }];
    const used = await chat({ query: 'look', files });
    expect(used.status).toBe(200);
    expect(fake.messagesOf(CHAT, used.json.conversation_id)[0]!.files[0]).toMatchObject({
      upload_file_id: json.id,
      filename: 'pic.png',
    });
    expect((await chat({ query: 'look', files, user: 'bob' })).json).toMatchObject({
      code: 'invalid_param',
      message: 'Invalid upload file',
    });
  });

  it('rejects uploads without a file, with two, with a path in the name, or without a MIME type', async () => {
    expect((await call(CHAT, '/files/upload', { body: form([['user', 'alice']]) })).json).toEqual({
      code: 'no_file_uploaded',
      message: 'Please upload your file.',
      status: 400,
    });
    expect(
      (
        await call(CHAT, '/files/upload', {
          body: form([
            ['file', png(), 'a.png'],
            ['file', png(), 'b.png'],
          ]),
        })
      ).json.code,
    ).toBe('too_many_files');
    for (const name of ['dir/a.png', 'dir\\a.png']) {
      const reply = await call(CHAT, '/files/upload', { body: form([['file', png(), name]]) });
      expect(reply.json).toMatchObject({ status: 400, code: 'invalid_param' });
    }
    const boundary = 'fakeboundary123';
    const raw = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.bin"\r\n\r\nabc\r\n--${boundary}--\r\n`;
    const untyped = await call(CHAT, '/files/upload', {
      body: raw,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    expect(untyped.json).toEqual({ code: 'unsupported_file_type', message: 'File type not allowed.', status: 415 });
  });

  it('transcribes allowed audio types and rejects audio/mpeg', async () => {
    const wav = new Blob([Buffer.alloc(100)], { type: 'audio/wav' });
    expect(
      (
        await call(CHAT, '/audio-to-text', {
          body: form([
            ['file', wav, 'hello.wav'],
            ['user', 'alice'],
          ]),
        })
      ).json,
    ).toEqual({ text: 'Fake transcript of hello.wav (100 bytes)' });
    const mpeg = new Blob([Buffer.alloc(10)], { type: 'audio/mpeg' });
    expect((await call(CHAT, '/audio-to-text', { body: form([['file', mpeg, 'a.mp3']]) })).json).toEqual({
      code: 'unsupported_audio_type',
      message: 'Audio type not allowed.',
      status: 415,
    });
    expect((await call(CHAT, '/audio-to-text', { body: form([['user', 'alice']]) })).json.code).toBe(
      'no_audio_uploaded',
    );
  });

  it('speaks text or a message’s answer as audio/mpeg bytes', async () => {
    const response = await send(CHAT, '/text-to-audio', { body: { text: 'one two three four five', user: 'alice' } });
    expect(response.headers.get('content-type')).toBe('audio/mpeg');
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xfb]));
    expect(bytes.length).toBe(3 * 417);
    const { json } = await chat({ query: 'speak' });
    const spoken = await send(CHAT, '/text-to-audio', { body: { message_id: json.message_id, user: 'alice' } });
    expect(spoken.status).toBe(200);
    expect((await call(CHAT, '/text-to-audio', { body: { user: 'alice' } })).json).toEqual({
      code: 'invalid_param',
      message: 'Text is required',
      status: 400,
    });
  });

  it('parses multipart edge cases: quoted boundary, RFC 5987 filename, escaped quotes', () => {
    expect(boundaryOf('multipart/form-data; boundary="a b"')).toBe('a b');
    expect(boundaryOf('application/json')).toBeUndefined();
    const body = Buffer.from(
      '--XY\r\nContent-Disposition: form-data; name="file"; filename="fallback.txt"; filename*=UTF-8\'\'%C3%A9t%C3%A9.txt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsummer\r\n' +
        '--XY\r\nContent-Disposition: form-data; name="note"\r\n\r\nsay %22hi%22\r\n--XY--\r\n',
    );
    const parsed = parseMultipart(body, 'XY');
    expect(parsed.files).toEqual([
      { field: 'file', filename: 'été.txt', mimeType: 'text/plain', size: 6, data: Buffer.from('summer') },
    ]);
    expect(parsed.fields).toEqual({ note: 'say %22hi%22' });
  });
});

describe('app metadata', () => {
  it('answers /info, /parameters, /meta and /site per app', async () => {
    expect((await call(CHAT, '/info')).json).toEqual({
      name: 'Fake Chat',
      description: expect.any(String),
      tags: [],
      mode: 'chat',
      author_name: expect.any(String),
    });
    expect((await call(WORKFLOW, '/info')).json.mode).toBe('workflow');
    const parameters = (await call(COMPLETION, '/parameters', { query: { user: 'alice' } })).json;
    expect(parameters).toMatchObject({
      suggested_questions_after_answer: { enabled: true },
      speech_to_text: { enabled: true },
      text_to_speech: { enabled: true },
      system_parameters: { file_size_limit: 15 },
    });
    expect(parameters.user_input_form[0].paragraph.variable).toBe('query');
    expect(Object.keys((await call(AGENT, '/meta')).json.tool_icons).length).toBeGreaterThan(0);
    expect((await call(CHAT, '/meta')).json).toEqual({ tool_icons: {} });
    expect((await call(CHAT, '/site')).json).toMatchObject({
      title: 'Fake Chat',
      icon_type: 'emoji',
      default_language: 'en-US',
    });
  });
});

describe('with the dify-client SDK', () => {
  async function sdkFrames(stream: Readable): Promise<Frame[]> {
    let text = '';
    for await (const chunk of stream) text += (chunk as Buffer).toString('utf8');
    return framesOf(text);
  }

  it('chats blocking and streaming, lists, renames and deletes conversations', async () => {
    const client = new ChatClient(CHAT, fake.url);
    const first = await client.createChatMessage({ context: 'sdk' }, 'Hello from the SDK', 'sdk-user');
    expect(first.data).toMatchObject({ answer: 'Echo: Hello from the SDK', metadata: { usage: { prompt_tokens: 5 } } });
    expect(fake.lastRequest('/v1/chat-messages')!.body).toMatchObject({
      response_mode: 'blocking',
      files: null,
      user: 'sdk-user',
    });
    const conversationId: string = first.data.conversation_id;

    const streamed = await client.createChatMessage({}, 'And a stream', 'sdk-user', true, conversationId);
    const frames = await sdkFrames(streamed.data as Readable);
    expect(joined(frames)).toBe('Echo: And a stream');
    expect(frames.at(-1)!.data.conversation_id).toBe(conversationId);

    const history = await client.getConversationMessages('sdk-user', conversationId, null, 10);
    expect(history.data.data.map((m: Json) => m.query)).toEqual(['Hello from the SDK', 'And a stream']);
    const conversations = await client.getConversations('sdk-user', null, 5);
    expect(conversations.data).toMatchObject({ limit: 5, has_more: false, data: [{ id: conversationId }] });
    const renamed = await client.renameConversation(conversationId, 'SDK chat', 'sdk-user');
    expect(renamed.data.name).toBe('SDK chat');
    const feedback = await client.messageFeedback(first.data.message_id, 'like' as unknown as number, 'sdk-user');
    expect(feedback.data).toEqual({ result: 'success' });
    const removed = await client.deleteConversation(conversationId, 'sdk-user');
    expect(removed.status).toBe(204);
    await expect(client.createChatMessage({}, 'x', 'sdk-user', false, conversationId)).rejects.toMatchObject({
      response: { status: 404, data: { code: 'not_found', message: 'Conversation Not Exists.', status: 404 } },
    });
  });

  it('completes, runs workflows, reads parameters and uploads files', async () => {
    const completion = new CompletionClient(COMPLETION, fake.url);
    const blocking = await completion.createCompletionMessage({ query: 'complete me' }, 'sdk-user');
    expect(blocking.data.answer).toBe('Echo: complete me');
    const streamed = await completion.createCompletionMessage({ query: 'stream me' }, 'sdk-user', true);
    expect(joined(await sdkFrames(streamed.data as Readable))).toBe('Echo: stream me');

    // runWorkflow exists in the 2.3.2 JavaScript but not in its type declarations.
    const workflow = new CompletionClient(WORKFLOW, fake.url) as CompletionClient & {
      runWorkflow(inputs: object, user: string, stream?: boolean): Promise<{ data: Json }>;
    };
    const run = await workflow.runWorkflow({ query: 'go' }, 'sdk-user');
    expect(run.data.data).toMatchObject({ status: 'succeeded', outputs: { text: 'Echo: {"query":"go"}' } });

    const base = new DifyClient(CHAT, fake.url);
    expect((await base.getApplicationParameters('sdk-user')).data.user_input_form).toHaveLength(1);
    const data = new FormData();
    data.append('file', new Blob(['hello'], { type: 'text/plain' }), 'note.txt');
    data.append('user', 'sdk-user');
    const upload = await base.fileUpload(data);
    expect(upload.status).toBe(201);
    expect(upload.data).toMatchObject({ name: 'note.txt', size: 5, mime_type: 'text/plain' });
  });

  it('surfaces auth errors as axios errors with the Dify envelope', async () => {
    const client = new ChatClient('app-wrong', fake.url);
    await expect(client.createChatMessage({}, 'x', 'u')).rejects.toMatchObject({
      response: { status: 401, data: { code: 'unauthorized', message: 'Access token is invalid' } },
    });
  });
});

describe('inspection', () => {
  it('records requests with path, query and body, and matches paths with or without /v1', async () => {
    await call(CHAT, '/conversations', { query: { user: 'alice', limit: '3' } });
    await chat({ query: 'recorded' });
    expect(fake.requestsTo('/conversations')).toHaveLength(1);
    expect(fake.lastRequest('/conversations')).toMatchObject({
      method: 'GET',
      path: '/v1/conversations',
      query: { user: 'alice', limit: '3' },
      body: undefined,
    });
    expect(fake.lastRequest()).toMatchObject({ path: '/v1/chat-messages', body: { query: 'recorded' } });
    expect(fake.lastRequest('/v1/chat-messages')!.headers.authorization).toBe(`Bearer ${CHAT}`);
    fake.clearRequests();
    expect(fake.requests).toEqual([]);
  });

  it('counts in-flight requests and client aborts mid-stream', async () => {
    const { reader } = await openStream(
      CHAT,
      '/chat-messages',
      { query: 'x' },
      { 'x-fake-behavior': 'words=50; chunk-delay=20' },
    );
    await reader.waitFor('message', 2);
    expect(fake.stats.inFlight).toBe(1);
    await reader.cancel();
    await fake.until((f) => f.stats.streamsAborted === 1 && f.stats.inFlight === 0);
    expect(fake.stats).toMatchObject({ streamsStarted: 1, streamsCompleted: 0, clientAborts: 1, maxInFlight: 1 });
    const conversationId = reader.frames[0]!.data.conversation_id;
    const [message] = fake.messagesOf(CHAT, conversationId);
    expect(message!.answer).toBe(joined(reader.frames));
  });

  it('until() rejects with the counters when the predicate never holds', async () => {
    await expect(fake.until((f) => f.stats.requests > 99, 30)).rejects.toThrow(/not met within 30 ms/);
  });
});
