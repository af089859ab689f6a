import type { Clock } from '#core/clock.ts';
import type { SecretBox } from '#core/crypto.ts';
import { AppError } from '#core/errors.ts';
import { newId } from '#core/ids.ts';
import { InvalidationBus, reloadOnChange } from '#core/invalidation.ts';
import { getJson, isRetryableStatus } from '#core/upstream.ts';
import type { ChannelChanges, ChannelsRepository } from './channels.repository.ts';
import type { ChannelKind, ChannelRow } from './channels.tables.ts';
import { isDifyAppMode, type DifyApp, type DifyPrices } from './dify-app.ts';

/** Only OpenAI-compatible channels serve models; a Dify app is reached through the Dify proxy alone. */
const servesModel = (c: Channel, model: string) =>
  c.kind === 'openai' && (c.models.includes(model) || c.models.includes('*'));

/** A channel as the router uses it, with its secret opened. `*` in `models` serves every model. */
/** What every kind of channel has. */
interface ChannelFields {
  id: string;
  name: string;
  baseUrl: string;
  secret: string;
  models: readonly string[];
  modelMap: Readonly<Record<string, string>>;
  priority: number;
  weight: number;
  enabled: boolean;
  autoDisabled: boolean;
  consecutiveFailures: number;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

/** An OpenAI-compatible upstream, serving models by name. */
export interface OpenAiChannel extends ChannelFields {
  kind: 'openai';
  dify: null;
}

/** One Dify app, of one mode, with its prices. */
export interface DifyChannel extends ChannelFields {
  kind: 'dify';
  dify: DifyApp;
}

/** An upstream channel: its kind says what it is and what it carries. */
export type Channel = OpenAiChannel | DifyChannel;

export interface ChannelInput {
  name: string;
  kind: ChannelKind;
  baseUrl: string;
  secret: string;
  models: string[];
  modelMap: Record<string, string>;
  priority: number;
  weight: number;
  enabled: boolean;
  /** Required for (and only for) `dify` channels. */
  dify?: DifyApp | null;
}

/**
 * Upstream channels: admin-managed, kept in memory (reloaded on every instance when one changes),
 * chosen by priority then weight, taken out after `failureThreshold` failures in a row and put back
 * when a probe finds them healthy. The admin's `enabled` switch is never changed by automation.
 */
export class ChannelsService {
  private channels: Channel[] = [];
  /** Loads started and the newest applied: a slow, older load never overwrites a newer one. */
  private loadsStarted = 0;
  private loadApplied = 0;

  constructor(
    private readonly repo: ChannelsRepository,
    private readonly box: SecretBox,
    private readonly bus: InvalidationBus,
    private readonly clock: Clock,
    private readonly options: {
      failureThreshold: number;
      /** The maxCallCost of a Dify app stored without one (DIFY_MAX_CALL_COST). */
      difyMaxCallCost: number;
    },
  ) {
    const reload = reloadOnChange(() => this.load());
    bus.subscribe((topic) => {
      if (topic === 'channels' || topic === InvalidationBus.EVERYTHING) reload();
    });
  }

  async load(): Promise<void> {
    const load = ++this.loadsStarted;
    const rows = await this.repo.all();
    if (load < this.loadApplied) return;
    this.loadApplied = load;
    this.channels = rows.map((row) => this.toChannel(row));
  }

  all(): readonly Channel[] {
    return this.channels;
  }

  get(id: string): Channel | undefined {
    return this.channels.find((c) => c.id === id);
  }

  /** Usable channels that serve `model`. */
  candidates(model: string): Channel[] {
    return this.channels.filter((c) => c.enabled && !c.autoDisabled && servesModel(c, model));
  }

  /** Whether some channel the admin enabled serves `model`, usable now or not (auto-disabled ones come back). */
  serves(model: string): boolean {
    return this.channels.some((c) => c.enabled && servesModel(c, model));
  }

  /** The next channel to try for `model`: the highest priority among those not tried yet, by weight. */
  pick(model: string, tried: ReadonlySet<string>): Channel | undefined {
    return ChannelsService.pickFrom(this.candidates(model).filter((c) => !tried.has(c.id)));
  }

  /** Every model an enabled channel serves by name (`*` channels add none); a channel out for a while still counts. */
  servedModels(): string[] {
    const models = new Set<string>();
    for (const c of this.channels)
      if (c.enabled && c.kind === 'openai') for (const m of c.models) if (m !== '*') models.add(m);
    return [...models].sort();
  }

  /** Whether an enabled channel serves every model (`*`). */
  servesAnyModel(): boolean {
    return this.channels.some((c) => c.enabled && c.kind === 'openai' && c.models.includes('*'));
  }

  /** The Dify apps the admin enabled (usable now or not), best first. */
  difyApps(): DifyChannel[] {
    return this.channels.filter((c): c is DifyChannel => c.enabled && c.kind === 'dify');
  }

  /** Picks among usable `channels` the highest priority, by weight. */
  static pickFrom<C extends Channel>(channels: readonly C[]): C | undefined {
    if (channels.length === 0) return undefined;
    const top = Math.max(...channels.map((c) => c.priority));
    const group = channels.filter((c) => c.priority === top);
    const total = group.reduce((sum, c) => sum + Math.max(c.weight, 0), 0);
    if (total === 0) return group[Math.floor(Math.random() * group.length)];
    let roll = Math.random() * total;
    for (const channel of group) {
      roll -= Math.max(channel.weight, 0);
      if (roll < 0) return channel;
    }
    return group.at(-1);
  }

  async create(input: ChannelInput): Promise<Channel> {
    const now = this.clock.now();
    const row: ChannelRow = {
      id: newId(now),
      name: input.name,
      kind: input.kind,
      base_url: input.baseUrl.replace(/\/+$/, ''),
      secret_sealed: this.box.seal(input.secret),
      models: JSON.stringify(input.models),
      model_map: JSON.stringify(input.modelMap),
      priority: input.priority,
      weight: input.weight,
      enabled: input.enabled ? 1 : 0,
      auto_disabled_at: null,
      consecutive_failures: 0,
      last_error: null,
      app_mode: input.dify?.mode ?? null,
      prices: input.dify ? JSON.stringify(input.dify.prices) : null,
      created_at: now,
      updated_at: now,
    };
    await this.repo.insert(row);
    await this.changed();
    return this.toChannel(row);
  }

  async update(id: string, input: Partial<ChannelInput>): Promise<Channel> {
    const changes: ChannelChanges = { updated_at: this.clock.now() };
    if (input.name !== undefined) changes.name = input.name;
    if (input.baseUrl !== undefined) changes.base_url = input.baseUrl.replace(/\/+$/, '');
    if (input.secret !== undefined) changes.secret_sealed = this.box.seal(input.secret);
    if (input.models !== undefined) changes.models = JSON.stringify(input.models);
    if (input.modelMap !== undefined) changes.model_map = JSON.stringify(input.modelMap);
    if (input.priority !== undefined) changes.priority = input.priority;
    if (input.weight !== undefined) changes.weight = input.weight;
    if (input.enabled !== undefined) changes.enabled = input.enabled ? 1 : 0;
    if (input.dify) {
      changes.app_mode = input.dify.mode;
      changes.prices = JSON.stringify(input.dify.prices);
    }
    if (!(await this.repo.update(id, changes))) throw new AppError('NOT_FOUND');
    await this.changed();
    return this.get(id)!;
  }

  async remove(id: string): Promise<void> {
    if (!(await this.repo.remove(id))) throw new AppError('NOT_FOUND');
    await this.changed();
  }

  /** A call through the channel worked: its failure count starts again. */
  async succeeded(channel: Channel): Promise<void> {
    if (channel.consecutiveFailures === 0 && !channel.autoDisabled) return;
    await this.repo.markHealthy(channel.id, this.clock.now());
    await this.changed();
  }

  /** A call through the channel failed (429, 5xx, no connection); at the threshold it is taken out. */
  async failed(channel: Channel, error: string): Promise<void> {
    const failures = await this.repo.recordFailure(channel.id, error, this.clock.now());
    channel.consecutiveFailures = failures;
    if (failures >= this.options.failureThreshold) await this.repo.autoDisable(channel.id, this.clock.now());
    await this.changed();
  }

  /**
   * Asks the channel for its model list with its secret: the admin's "test" button and the probe that
   * puts an auto-disabled channel back. A healthy answer clears the failure count (never the admin's switch).
   */
  async test(id: string): Promise<{ ok: boolean; status: number | null; latencyMs: number; error: string | null }> {
    const channel = this.get(id);
    if (!channel) throw new AppError('NOT_FOUND');
    const started = performance.now();
    let result: { ok: boolean; status: number | null; error: string | null };
    try {
      // A Dify app has no model list; its /info answers only to the app's own key.
      const answer = await getJson(
        channel.baseUrl,
        channel.kind === 'dify' ? '/info' : '/models',
        channel.secret,
        10_000,
      );
      // Healthy = it answers and takes the channel's secret. Some compatible upstreams have no model
      // list (404): that must not keep a channel out for ever.
      const ok = !isRetryableStatus(answer.status);
      result = {
        ok,
        status: answer.status,
        error: answer.status >= 200 && answer.status < 300 ? null : answer.body.slice(0, 200),
      };
    } catch (error) {
      result = { ok: false, status: null, error: (error as Error).message };
    }
    if (result.ok) await this.succeeded(channel);
    return { ...result, latencyMs: Math.round(performance.now() - started) };
  }

  /** Tests every channel health checks took out (and the admin left enabled); returns those put back. */
  async probe(): Promise<number> {
    let restored = 0;
    for (const channel of this.channels.filter((c) => c.enabled && c.autoDisabled))
      if ((await this.test(channel.id)).ok) restored += 1;
    return restored;
  }

  /** The first channel from OPENAI_BASE_URL / OPENAI_API_KEY, when there is none yet. */
  async bootstrap(baseUrl: string, secret: string): Promise<Channel | undefined> {
    if ((await this.repo.count('openai')) > 0) return undefined;
    return this.create({
      name: 'openai (from environment)',
      kind: 'openai',
      baseUrl,
      secret,
      models: ['*'],
      modelMap: {},
      priority: 0,
      weight: 1,
      enabled: true,
    });
  }

  /** The first Dify app from DIFY_API_URL / DIFY_API_KEY, when there is none yet. */
  async bootstrapDify(baseUrl: string, secret: string, app: DifyApp): Promise<Channel | undefined> {
    if ((await this.repo.count('dify')) > 0) return undefined;
    return this.create({
      name: 'dify (from environment)',
      kind: 'dify',
      baseUrl,
      secret,
      models: [],
      modelMap: {},
      priority: 0,
      weight: 1,
      enabled: true,
      dify: app,
    });
  }

  /** A channel's secret for a log line or an admin view: `sk-…abcd`. */
  static preview(secret: string): string {
    return secret.length <= 8 ? '…' : `${secret.slice(0, 3)}…${secret.slice(-4)}`;
  }

  private async changed(): Promise<void> {
    await this.load();
    await this.bus.publish('channels');
  }

  /** A Dify app's stored prices; one stored before it had a maxCallCost takes the configured one. */
  private difyPricesOf(stored: string | null): DifyPrices {
    return {
      maxCallCost: this.options.difyMaxCallCost,
      ...(JSON.parse(stored ?? '{}') as Partial<DifyPrices>),
    } as DifyPrices;
  }

  private toChannel(row: ChannelRow): Channel {
    const fields: ChannelFields = {
      id: row.id,
      name: row.name,
      baseUrl: row.base_url,
      secret: this.box.open(row.secret_sealed),
      models: JSON.parse(row.models) as string[],
      modelMap: JSON.parse(row.model_map) as Record<string, string>,
      priority: row.priority,
      weight: row.weight,
      enabled: row.enabled === 1,
      autoDisabled: row.auto_disabled_at !== null,
      consecutiveFailures: row.consecutive_failures,
      lastError: row.last_error,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
    if (row.kind === 'openai') return { ...fields, kind: 'openai', dify: null };
    // A Dify app of a mode this version does not know cannot be called right: it is kept, not used.
    const mode = isDifyAppMode(row.app_mode) ? row.app_mode : undefined;
    return {
      ...fields,
      enabled: fields.enabled && mode !== undefined,
      kind: 'dify',
      dify: { mode: mode ?? 'chat', prices: this.difyPricesOf(row.prices) },
    };
  }
}
