/**
 * The SSE events of one generation, per app family (dify-api.md §2.2–2.4):
 * - chat / completion: `message` per token, [`message_replace`], `message_end` (metadata.usage);
 * - agent-chat: `agent_thought` (empty), `agent_message` per token, `agent_thought` (the answer),
 *   [`message_replace`], `message_end`;
 * - advanced-chat (chatflow): `workflow_started`, start / llm node events, `message` per token, llm /
 *   answer node events, [`message_replace`], then `workflow_finished` and `message_end` (order=);
 * - workflow: `workflow_started`, start / llm node events, `text_chunk` per token, llm / end node
 *   events, `workflow_finished` (total_tokens; the llm node's execution_metadata has the price).
 * Chat envelopes: event, conversation_id, message_id, created_at, task_id (completion: no
 * conversation_id); workflow envelopes: event, workflow_run_id, task_id, data. `error` events carry
 * status, code, message and no task_id.
 */
import { randomUUID } from 'node:crypto';
import type { FakeDifyApp } from './apps.ts';
import type { DifyBehavior } from './behavior.ts';
import { usageOf, zeroUsage, type DifyUsage, type Inputs } from './content.ts';
import type { InBandError } from './errors.ts';
import type { DifyEvent, ScriptEvent } from './stream.ts';

/** Everything one generation's events are made of. */
export interface Generation {
  app: FakeDifyApp;
  behavior: DifyBehavior;
  taskId: string;
  messageId: string;
  conversationId: string | null;
  workflowRunId: string | null;
  endUserId: string;
  user: string;
  createdAt: number;
  inputs: Inputs;
  /** The answer cut into tokens: one delta event each. */
  pieces: string[];
  promptTokens: number;
}

/** The answer and usage when `produced` tokens of the answer came out. */
export const partialAnswer = (g: Generation, produced: number) => g.pieces.slice(0, produced).join('');

/** The usage to report for `completionTokens` tokens: none, zero (annotation), forced, or computed. */
export function usageFor(g: Generation, completionTokens: number): DifyUsage | undefined {
  const { usage, annotation } = g.behavior;
  if (usage === 'none') return undefined;
  if (annotation) return zeroUsage();
  if (usage) return usageOf(usage.prompt_tokens, usage.completion_tokens);
  return usageOf(g.promptTokens, completionTokens);
}

export function metadataFor(g: Generation, usage: DifyUsage | undefined): Record<string, unknown> {
  return {
    ...(g.behavior.annotation
      ? { annotation_reply: { id: randomUUID(), account: { id: randomUUID(), name: 'Fake Admin' } } }
      : {}),
    retriever_resources: [],
    ...(usage ? { usage } : {}),
  };
}

const chatEnvelope = (g: Generation, event: string): DifyEvent =>
  g.conversationId === null
    ? { event, message_id: g.messageId, created_at: g.createdAt, task_id: g.taskId }
    : { event, conversation_id: g.conversationId, message_id: g.messageId, created_at: g.createdAt, task_id: g.taskId };

/** An `error` event: the envelope without task_id, then status, code, message. */
function errorEvent(g: Generation, error: InBandError): DifyEvent {
  let envelope: DifyEvent;
  if (g.app.mode === 'workflow') envelope = { event: 'error', workflow_run_id: g.workflowRunId };
  else if (g.conversationId === null) envelope = { event: 'error', message_id: g.messageId, created_at: g.createdAt };
  else
    envelope = { event: 'error', conversation_id: g.conversationId, message_id: g.messageId, created_at: g.createdAt };
  return { ...envelope, status: error.status, code: error.code, message: error.message };
}

const messageEnd = (g: Generation, produced: number): DifyEvent => ({
  ...chatEnvelope(g, 'message_end'),
  id: g.messageId,
  metadata: metadataFor(g, usageFor(g, produced)),
  files: null,
});

const replaceEvent = (g: Generation, text: string): ScriptEvent => ({
  event: { ...chatEnvelope(g, 'message_replace'), answer: text, reason: 'output_moderation' },
});

interface Node {
  executionId: string;
  id: string;
  type: string;
  title: string;
  index: number;
  predecessor: string | null;
}

/** The start → llm → end|answer graph every fake workflow has. */
function graph(last: 'end' | 'answer'): [Node, Node, Node] {
  const node = (id: string, type: string, title: string, index: number, predecessor: string | null): Node => ({
    executionId: randomUUID(),
    id,
    type,
    title,
    index,
    predecessor,
  });
  return [
    node('start', 'start', 'Start', 1, null),
    node('llm', 'llm', 'LLM', 2, 'start'),
    node(last, last, last === 'end' ? 'End' : 'Answer', 3, 'llm'),
  ];
}

/** Token totals of a workflow, or undefined with `usage=none`. */
function totalTokens(g: Generation, produced: number): number | undefined {
  return usageFor(g, produced)?.total_tokens;
}

function workflowEvents(g: Generation, last: 'end' | 'answer') {
  const envelope = (event: string, data: Record<string, unknown>): DifyEvent =>
    g.app.mode === 'workflow'
      ? { event, workflow_run_id: g.workflowRunId, task_id: g.taskId, data }
      : { ...chatEnvelope(g, event), workflow_run_id: g.workflowRunId, data };
  const nodes = graph(last);
  const started = (n: Node, inputs: Record<string, unknown>) => ({
    id: n.executionId,
    node_id: n.id,
    node_type: n.type,
    title: n.title,
    index: n.index,
    predecessor_node_id: n.predecessor,
    inputs,
    created_at: g.createdAt,
    extras: {},
    iteration_id: null,
    loop_id: null,
  });
  const finished = (
    n: Node,
    inputs: Record<string, unknown>,
    outputs: Record<string, unknown>,
    metadata: Record<string, unknown>,
    status = 'succeeded',
  ) => ({
    ...started(n, inputs),
    process_data: null,
    outputs,
    status,
    error: null,
    elapsed_time: n.type === 'llm' ? usageOf(0, g.pieces.length).latency : 0.001,
    execution_metadata: metadata,
    finished_at: g.createdAt,
    files: [],
  });
  const llmMetadata = (produced: number) => {
    const usage = usageFor(g, produced);
    return usage ? { total_tokens: usage.total_tokens, total_price: usage.total_price, currency: usage.currency } : {};
  };
  const answer = g.pieces.join('');
  const [start, llm, end] = nodes;
  const head: ScriptEvent[] = [
    {
      event: envelope('workflow_started', {
        id: g.workflowRunId,
        workflow_id: g.app.workflowId,
        inputs: g.inputs,
        created_at: g.createdAt,
      }),
    },
    { event: envelope('node_started', started(start, g.inputs)) },
    { event: envelope('node_finished', finished(start, g.inputs, g.inputs, {})) },
    { event: envelope('node_started', started(llm, {})) },
  ];
  const tail: ScriptEvent[] = [
    { event: envelope('node_finished', finished(llm, {}, { text: answer }, llmMetadata(g.pieces.length))) },
    { event: envelope('node_started', started(end, {})) },
    { event: envelope('node_finished', finished(end, {}, last === 'end' ? { text: answer } : { answer }, {})) },
  ];
  const workflowFinished = (status: string, produced: number, error: string | null): DifyEvent => {
    const tokens = totalTokens(g, produced);
    return envelope('workflow_finished', {
      id: g.workflowRunId,
      workflow_id: g.app.workflowId,
      status,
      outputs: status === 'failed' ? {} : { text: partialAnswer(g, produced) },
      error,
      elapsed_time: usageOf(0, produced).latency,
      ...(tokens === undefined ? {} : { total_tokens: tokens }),
      total_steps: status === 'succeeded' ? 3 : 2,
      created_at: g.createdAt,
      finished_at: g.createdAt,
      created_by: { id: g.endUserId, user: g.user },
      exceptions_count: 0,
      files: [],
    });
  };
  return { envelope, head, tail, workflowFinished };
}

export interface EventScript {
  events: ScriptEvent[];
  afterStop(produced: number): DifyEvent[];
  afterError(produced: number, error: InBandError): DifyEvent[];
}

const STOPPED_BY_USER = 'Stopped by user.';

function chatScript(g: Generation): EventScript {
  const deltas = g.pieces.map((answer): ScriptEvent => ({
    event: { ...chatEnvelope(g, 'message'), id: g.messageId, answer, from_variable_selector: null },
    delta: true,
  }));
  const replace = g.behavior.replace === undefined ? [] : [replaceEvent(g, g.behavior.replace)];
  return {
    events: [...deltas, ...replace, { event: messageEnd(g, g.pieces.length), terminal: true }],
    afterStop: (produced) => [messageEnd(g, produced)],
    afterError: (_produced, error) => [errorEvent(g, error)],
  };
}

function agentScript(g: Generation): EventScript {
  const thoughtId = randomUUID();
  const thought = (text: string): DifyEvent => ({
    ...chatEnvelope(g, 'agent_thought'),
    id: thoughtId,
    position: 1,
    thought: text,
    observation: '',
    tool: '',
    tool_labels: {},
    tool_input: '',
    message_files: [],
  });
  const deltas = g.pieces.map((answer): ScriptEvent => ({
    event: { ...chatEnvelope(g, 'agent_message'), id: g.messageId, answer },
    delta: true,
  }));
  const replace = g.behavior.replace === undefined ? [] : [replaceEvent(g, g.behavior.replace)];
  return {
    events: [
      { event: thought('') },
      ...deltas,
      { event: thought(g.pieces.join('')) },
      ...replace,
      { event: messageEnd(g, g.pieces.length), terminal: true },
    ],
    afterStop: (produced) => [thought(partialAnswer(g, produced)), messageEnd(g, produced)],
    afterError: (_produced, error) => [errorEvent(g, error)],
  };
}

function chatflowScript(g: Generation): EventScript {
  const { head, tail, workflowFinished } = workflowEvents(g, 'answer');
  const deltas = g.pieces.map((answer): ScriptEvent => ({
    event: { ...chatEnvelope(g, 'message'), id: g.messageId, answer, from_variable_selector: ['llm', 'text'] },
    delta: true,
  }));
  const replace = g.behavior.replace === undefined ? [] : [replaceEvent(g, g.behavior.replace)];
  const ends = (status: string, produced: number, error: string | null) => {
    const pair = [workflowFinished(status, produced, error), messageEnd(g, produced)];
    return g.behavior.order === 'message-first' ? pair.reverse() : pair;
  };
  return {
    events: [
      ...head,
      ...deltas,
      ...tail,
      ...replace,
      ...ends('succeeded', g.pieces.length, null).map((event) => ({ event, terminal: true })),
    ],
    afterStop: (produced) => ends('stopped', produced, STOPPED_BY_USER),
    afterError: (produced, error) => [workflowFinished('failed', produced, error.message), errorEvent(g, error)],
  };
}

function workflowScript(g: Generation): EventScript {
  const { envelope, head, tail, workflowFinished } = workflowEvents(g, 'end');
  const deltas = g.pieces.map((text): ScriptEvent => ({
    event: envelope('text_chunk', { text, from_variable_selector: ['llm', 'text'] }),
    delta: true,
  }));
  return {
    events: [
      ...head,
      ...deltas,
      ...tail,
      { event: workflowFinished('succeeded', g.pieces.length, null), terminal: true },
    ],
    afterStop: (produced) => [workflowFinished('stopped', produced, STOPPED_BY_USER)],
    afterError: (produced, error) => [workflowFinished('failed', produced, error.message), errorEvent(g, error)],
  };
}

export function scriptFor(g: Generation): EventScript {
  switch (g.app.mode) {
    case 'chat':
    case 'completion':
      return chatScript(g);
    case 'agent-chat':
      return agentScript(g);
    case 'advanced-chat':
      return chatflowScript(g);
    case 'workflow':
      return workflowScript(g);
  }
}

/** workflow_finished's data for a blocking workflow run (§3.5). */
export function workflowResult(
  g: Generation,
  status: 'succeeded' | 'failed',
  error: string | null,
): Record<string, unknown> {
  const finished = workflowEvents(g, 'end').workflowFinished(status, g.pieces.length, error).data as Record<
    string,
    unknown
  >;
  const blockingFields = [
    'id',
    'workflow_id',
    'status',
    'outputs',
    'error',
    'elapsed_time',
    'total_tokens',
    'total_steps',
    'created_at',
    'finished_at',
  ];
  return Object.fromEntries(Object.entries(finished).filter(([name]) => blockingFields.includes(name)));
}
