import type { Dispatcher } from 'undici';
import type { Clock } from '#core/clock.ts';
import { AppError, DifyRejected } from '#core/errors.ts';
import type { KeyValueStore } from '#core/kv.ts';
import {
  isRetryableStatus,
  sendUpstream,
  UpstreamUnreachable,
  type UpstreamCall,
  type UpstreamTimeouts,
} from '#core/upstream.ts';
import { ChannelsService, type Channel, type DifyChannel } from '#modules/channels/channels.service.ts';
import { servesFamily, type DifyFamily, type DifyPricedEndpoint } from '#modules/channels/dify-app.ts';
import type { ResolvedKey } from '#modules/keys/keys.service.ts';
import type { Price } from '#modules/pricing/price.ts';
import type { Role } from '#modules/users/users.tables.ts';
import type { DifyRepository } from './dify.repository.ts';
import type { DifyConversationRow, DifyFilesTable, DifyMessageRow } from './dify.tables.ts';

/** Who calls the Dify proxy: a signed-in user, or one of their API keys. */
export interface DifyCaller {
  userId: string;
  role: Role;
  /** Null for a session (JWT or console cookie). */
  key: ResolvedKey | null;
  requestId: string;
}

/** A running task (known from its stream) and whose it is; kept in the shared store, so any instance can stop it. */
interface TaskOwner {
  userId: string;
  channelId: string;
  family: DifyFamily;
}

const TASK_TTL_MS = 6 * 3_600_000;

/**
 * The Dify proxy's rules (docs/dify.md): which app answers, whose conversations, messages, files and tasks
 * are whose, and how Dify is called with Tollgate's own `user` for the caller.
 */
export class DifyService {
  constructor(
    private readonly repo: DifyRepository,
    private readonly channels: ChannelsService,
    private readonly kv: KeyValueStore,
    private readonly clock: Clock,
    readonly timeouts: UpstreamTimeouts,
  ) {}

  /**
   * Dify's `user` for a Tollgate user: set by Tollgate on every call, whatever the client sent, so Dify
   * itself keeps each user's conversations apart too.
   */
  static identity(userId: string): string {
    return `tollgate-${userId}`;
  }

  /**
   * The app that answers: the one the client named (`X-Dify-App`: id or name), else the best usable app
   * serving `family` (any family when null, chat apps first).
   */
  pickApp(family: DifyFamily | null, requested: string | undefined, key: ResolvedKey | null): DifyChannel {
    const apps = this.channels.difyApps();
    if (apps.length === 0) throw new AppError('DIFY_NOT_CONFIGURED');
    const fits = (c: DifyChannel) => family === null || servesFamily(c.dify.mode, family);
    let channel: DifyChannel | undefined;
    if (requested) {
      channel = apps.find((c) => (c.id === requested || c.name === requested) && fits(c));
      if (!channel) throw new AppError('DIFY_APP_NOT_FOUND', { app: requested });
      if (channel.autoDisabled) throw new AppError('UPSTREAM_UNAVAILABLE');
    } else {
      const serving = apps.filter(fits);
      if (serving.length === 0) throw new AppError('DIFY_APP_NOT_FOUND', { app: family ?? '' });
      const usable = serving.filter((c) => !c.autoDisabled);
      const preferred = family === null ? usable.filter((c) => servesFamily(c.dify.mode, 'chat')) : usable;
      channel = ChannelsService.pickFrom(preferred.length > 0 ? preferred : usable);
      if (!channel) throw new AppError('UPSTREAM_UNAVAILABLE');
    }
    this.assertKeyMayUse(key, channel);
    return channel;
  }

  /** The app a recorded object lives in; gone or out means the call cannot be made now. */
  appOf(channelId: string, key: ResolvedKey | null): DifyChannel {
    const channel = this.channels.get(channelId);
    if (!channel || !channel.enabled || channel.kind !== 'dify') throw new AppError('DIFY_NOT_CONFIGURED');
    if (channel.autoDisabled) throw new AppError('UPSTREAM_UNAVAILABLE');
    this.assertKeyMayUse(key, channel);
    return channel;
  }

  /** The name usage records and key allow-lists know a Dify app by. */
  static modelOf(channel: Channel): string {
    return `dify:${channel.name}`;
  }

  /** A key with a model allow-list may use a Dify app only when the list names it (`dify:<app name>`). */
  private assertKeyMayUse(key: ResolvedKey | null, channel: Channel): void {
    if (key?.allowedModels && !key.allowedModels.has(DifyService.modelOf(channel)))
      throw new AppError('DIFY_APP_NOT_FOUND', { app: channel.name });
  }

  /** The price of one call of `endpoint` on `channel`: its base price plus the app's token prices. */
  static priceOf(channel: DifyChannel, endpoint: DifyPricedEndpoint, withTokens: boolean): Price {
    const prices = channel.dify.prices;
    return {
      perRequest: prices.endpoints[endpoint] ?? 0,
      input: withTokens ? prices.input : 0,
      output: withTokens ? prices.output : 0,
      perImage: 0,
    };
  }

  /** The caller's conversation (not deleted); anyone else's, or none, is 404. */
  async ownConversation(caller: DifyCaller, id: string): Promise<DifyConversationRow> {
    const row = await this.repo.conversation(id);
    if (!row || row.user_id !== caller.userId || row.deleted_at !== null) throw new AppError('CONVERSATION_NOT_FOUND');
    return row;
  }

  async ownMessage(caller: DifyCaller, id: string): Promise<DifyMessageRow> {
    const row = await this.repo.message(id);
    if (!row || row.user_id !== caller.userId) throw new AppError('MESSAGE_NOT_FOUND');
    if (row.conversation_id)
      await this.ownConversation(caller, row.conversation_id).catch(() =>
        Promise.reject(new AppError('MESSAGE_NOT_FOUND')),
      );
    return row;
  }

  async ownFile(caller: DifyCaller, id: string): Promise<DifyFilesTable> {
    const row = await this.repo.file(id);
    if (!row || row.user_id !== caller.userId) throw new AppError('FILE_NOT_FOUND');
    return row;
  }

  async rememberTask(taskId: string, owner: TaskOwner): Promise<void> {
    await this.kv.set(`dify:task:${taskId}`, JSON.stringify(owner), TASK_TTL_MS);
  }

  /** A task the caller started (in `family`) and that may still run; anyone else's is 404. */
  async ownTask(caller: DifyCaller, taskId: string, family: DifyFamily): Promise<TaskOwner> {
    const raw = await this.kv.get(`dify:task:${taskId}`);
    const owner = raw ? (JSON.parse(raw) as TaskOwner) : undefined;
    if (!owner || owner.userId !== caller.userId || owner.family !== family) throw new AppError('TASK_NOT_FOUND');
    return owner;
  }

  /**
   * Calls the app. No answer, or an answer that is the app's fault (its key refused, overloaded, 5xx),
   * counts against the channel and is UPSTREAM_UNAVAILABLE to the client (never a 401 that reads as
   * their own credentials being wrong); a 4xx of Dify's own reaches the client as DifyRejected.
   * Other answers are returned with the body unread.
   */
  async send(channel: Channel, call: Omit<UpstreamCall, 'timeouts'>): Promise<Dispatcher.ResponseData> {
    let response: Dispatcher.ResponseData;
    try {
      response = await sendUpstream(channel.baseUrl, channel.secret, { ...call, timeouts: this.timeouts });
    } catch (error) {
      if (error instanceof UpstreamUnreachable) {
        await this.channels.failed(channel, error.message);
        throw new AppError('UPSTREAM_UNAVAILABLE');
      }
      throw error;
    }
    if (response.statusCode < 400) {
      await this.channels.succeeded(channel);
      return response;
    }
    const text = await response.body.text();
    if (isRetryableStatus(response.statusCode)) {
      await this.channels.failed(channel, `HTTP ${response.statusCode}: ${text.slice(0, 200)}`);
      const header = response.headers['retry-after'];
      throw new AppError(
        'UPSTREAM_UNAVAILABLE',
        {},
        {},
        typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : undefined,
      );
    }
    throw rejection(response.statusCode, text);
  }

  /** `send` for a JSON answer. */
  async sendForJson<T>(channel: Channel, call: Omit<UpstreamCall, 'timeouts'>): Promise<{ status: number; body: T }> {
    const response = await this.send(channel, call);
    const text = await response.body.text();
    if (response.statusCode === 204 || text.length === 0) return { status: response.statusCode, body: {} as T };
    try {
      return { status: response.statusCode, body: JSON.parse(text) as T };
    } catch {
      throw new AppError('UPSTREAM_ERROR', { detail: 'the Dify app answered something that is not JSON' });
    }
  }

  /** Renames an own conversation at Dify (which may name it itself: `auto`) and here; returns Dify's conversation. */
  async renameConversation(
    caller: DifyCaller,
    id: string,
    name: string | undefined,
    auto: boolean,
  ): Promise<Record<string, unknown> & { name: string }> {
    const conversation = await this.ownConversation(caller, id);
    if (!name && !auto)
      throw new AppError('VALIDATION_FAILED', { detail: 'name is required unless auto_generate is true' });
    const json: Record<string, unknown> = { user: DifyService.identity(caller.userId), auto_generate: auto };
    if (name) json.name = name;
    const answer = await this.sendForJson<Record<string, unknown>>(this.appOf(conversation.channel_id, caller.key), {
      method: 'POST',
      path: `/conversations/${conversation.id}/name`,
      body: { json },
    });
    const given =
      typeof answer.body.name === 'string' && answer.body.name.length > 0
        ? answer.body.name
        : (name ?? conversation.name);
    await this.repo.renameConversation(conversation.id, given, this.clock.now());
    return { ...answer.body, name: given };
  }

  /** Deletes an own conversation at Dify and here (already gone at Dify is fine: the user's wish holds). */
  async deleteConversation(caller: DifyCaller, id: string): Promise<void> {
    const conversation = await this.ownConversation(caller, id);
    try {
      await this.sendForJson(this.appOf(conversation.channel_id, caller.key), {
        method: 'DELETE',
        path: `/conversations/${conversation.id}`,
        body: { json: { user: DifyService.identity(caller.userId) } },
      });
    } catch (error) {
      if (!(error instanceof AppError && error.status === 404)) throw error;
    }
    await this.repo.deleteConversation(conversation.id, this.clock.now());
  }

  now(): number {
    return this.clock.now();
  }

  get records(): DifyRepository {
    return this.repo;
  }
}

/** Dify's error envelope `{code, message, status}` as a client error of ours. */
export function rejection(status: number, text: string): DifyRejected {
  let code = 'bad_request';
  let message = text.slice(0, 500);
  try {
    const body = JSON.parse(text) as { code?: unknown; message?: unknown };
    if (typeof body.code === 'string') code = body.code;
    if (typeof body.message === 'string') message = body.message;
  } catch {
    // not Dify's envelope: the text is the message
  }
  return new DifyRejected(status, code, message);
}
