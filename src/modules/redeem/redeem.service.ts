import type { Kysely } from 'kysely';
import type { Clock } from '#core/clock.ts';
import type { SecretBox } from '#core/crypto.ts';
import { isUniqueViolation } from '#core/db/dialect.ts';
import type { DB } from '#core/db/schema.ts';
import { transact } from '#core/db/transaction.ts';
import { AppError } from '#core/errors.ts';
import { newId } from '#core/ids.ts';
import type { KeyValueStore } from '#core/kv.ts';
import type { CreditsService } from '#modules/credits/credits.service.ts';
import { ACTIVATION_RETRY, type PlansService } from '#modules/plans/plans.service.ts';
import { retry } from '#core/retry.ts';
import { generateCode, hashCode } from './redeem.codes.ts';
import { RedeemLimiter, type RedeemLimits } from './redeem.limiter.ts';
import type { CodeFilter, CodeState, RedeemRepository } from './redeem.repository.ts';
import type { RedeemCodeRow } from './redeem.tables.ts';

export interface NewBatch {
  count: number;
  credits: number;
  /** A plan (id or code) each redemption activates, for `planDays` (default: the plan's duration). */
  planId?: string | null | undefined;
  planDays?: number | null | undefined;
  maxUses: number;
  expiresAt: number | null;
  note: string | null;
}

export interface RedeemCodeView {
  id: string;
  batchId: string;
  code: string;
  credits: number;
  planId: string | null;
  planDays: number | null;
  maxUses: number;
  usedCount: number;
  state: CodeState;
  expiresAt: string | null;
  disabledAt: string | null;
  note: string | null;
  createdAt: string;
  /** The latest redemption: who (email) and when; null while unused. Only in the admin's list. */
  lastUsed?: { userId: string; email: string | null; at: string } | null;
}

export interface RedeemBatchView {
  batchId: string;
  codes: number;
  uses: number;
  maxUses: number;
  disabled: number;
  credits: number;
  planId: string | null;
  expiresAt: string | null;
  note: string | null;
  createdAt: string;
}

export type { RedeemLimits } from './redeem.limiter.ts';

/** What a redemption gave: credits (the code's and its plan's), the balance after, and the plan it activated. */
export interface Redeemed {
  credits: number;
  balance: number;
  plan: { id: string; code: string; name: string; level: number; expiresAt: string | null } | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Redeem codes (seed 004): admins make batches; a user turns a code into credits exactly once. */
export class RedeemService {
  private readonly limiter: RedeemLimiter;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly repo: RedeemRepository,
    private readonly credits: CreditsService,
    kv: KeyValueStore,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    limits: RedeemLimits,
    private readonly plans: PlansService,
  ) {
    this.limiter = new RedeemLimiter(kv, clock, limits);
  }

  async createBatch(input: NewBatch, adminId: string | null): Promise<{ batchId: string; codes: RedeemCodeView[] }> {
    const now = this.clock.now();
    if (input.expiresAt !== null && input.expiresAt <= now) throw new AppError('EXPIRES_AT_IN_PAST');
    // A code gives credits, a plan, or both: never nothing. A plan named by its code is stored by id.
    const plan = input.planId == null ? null : await this.plans.get(input.planId);
    if (!plan && input.credits === 0)
      throw new AppError('VALIDATION_FAILED', { detail: 'a code grants credits, a plan, or both' });
    if (!plan && input.planDays != null) throw new AppError('VALIDATION_FAILED', { detail: 'planDays needs a planId' });
    const batchId = newId(now);
    const plain: string[] = [];
    const rows: RedeemCodeRow[] = [];
    for (let i = 0; i < input.count; i++) {
      const code = generateCode();
      plain.push(code);
      rows.push({
        id: newId(now),
        batch_id: batchId,
        code_hash: hashCode(code),
        code_sealed: this.box.seal(code),
        credits: input.credits,
        max_uses: input.maxUses,
        used_count: 0,
        expires_at: input.expiresAt,
        disabled_at: null,
        note: input.note,
        plan_id: plan?.id ?? null,
        plan_days: plan ? (input.planDays ?? null) : null,
        created_by: adminId,
        created_at: now,
      });
    }
    await transact(this.db, (trx) => this.repo.insertCodes(rows, trx));
    return { batchId, codes: rows.map((row) => this.view(row, now)) };
  }

  async list(filter: CodeFilter, page: number, limit: number): Promise<{ items: RedeemCodeView[]; total: number }> {
    const now = this.clock.now();
    const { rows, total } = await this.repo.list(filter, now, (page - 1) * limit, limit);
    const last = await this.repo.lastRedemptions(rows.map((row) => row.id));
    const items = rows.map((row) => {
      const used = last.get(row.id);
      return { ...this.view(row, now), lastUsed: used ? { ...used, at: new Date(used.at).toISOString() } : null };
    });
    return { items, total };
  }

  /** The batches, newest first, with their codes' counts and shared terms. */
  async batches(page: number, limit: number): Promise<{ items: RedeemBatchView[]; total: number }> {
    const { rows, total } = await this.repo.batches((page - 1) * limit, limit);
    const items = rows.map((row) => ({
      batchId: row.batch_id,
      codes: row.codes,
      uses: row.uses,
      maxUses: row.max_uses,
      disabled: row.disabled,
      credits: row.credits,
      planId: row.plan_id,
      expiresAt: iso(row.expires_at),
      note: row.note,
      createdAt: new Date(row.created_at).toISOString(),
    }));
    return { items, total };
  }

  async exportCsv(filter: CodeFilter): Promise<string> {
    const now = this.clock.now();
    const header = 'code,credits,max_uses,used_count,state,expires_at,batch_id,note,created_at';
    const lines = (await this.repo.listAll(filter, now)).map((row) => {
      const v = this.view(row, now);
      return [
        v.code,
        v.credits,
        v.maxUses,
        v.usedCount,
        v.state,
        v.expiresAt ?? '',
        v.batchId,
        v.note ?? '',
        v.createdAt,
      ]
        .map(csvField)
        .join(',');
    });
    return [header, ...lines].join('\r\n') + '\r\n';
  }

  /** Disables one code; NOT_FOUND when there is no such code. Returns how many changed now (0 or 1). */
  async disableCode(id: string): Promise<number> {
    const disabled = await this.repo.disable({ id }, this.clock.now());
    if (disabled === 0 && !(await this.repo.findById(id))) throw new AppError('NOT_FOUND');
    return disabled;
  }

  /** Disables every live code of a batch; NOT_FOUND when there is no such batch. */
  async disableBatch(batchId: string): Promise<number> {
    const disabled = await this.repo.disable({ batchId }, this.clock.now());
    if (disabled === 0 && !(await this.repo.batchExists(batchId))) throw new AppError('NOT_FOUND');
    return disabled;
  }

  /**
   * Turns a code into credits. Exactly one of any number of racing users wins a single-use code; a
   * user never redeems the same code twice. Failed attempts are limited per user and per IP.
   */
  async redeem(userId: string, input: string, ip: string): Promise<Redeemed> {
    const attempt = await this.limiter.begin(userId, ip);
    let result: Redeemed;
    try {
      result = await this.redeemOnce(userId, input);
    } catch (error) {
      if (error instanceof AppError && error.code.startsWith('REDEEM_')) await this.limiter.failed(attempt);
      else await this.limiter.giveBack(attempt);
      throw error;
    }
    // The grant is committed: the answer is a success even if the attempt cannot be given back.
    await this.limiter.giveBack(attempt).catch(() => undefined);
    return result;
  }

  /**
   * The code's credits and its plan (with the credits the plan grants) are written in one transaction,
   * once (the redemption's key is the code and the user). An activation that raced another change of
   * the user's plan is run again whole.
   */
  private async redeemOnce(userId: string, input: string): Promise<Redeemed> {
    const now = this.clock.now();
    const code = await this.repo.findByHash(hashCode(input));
    if (!code) throw new AppError('REDEEM_CODE_INVALID');
    if (code.disabled_at !== null) throw new AppError('REDEEM_CODE_DISABLED');
    if (code.expires_at !== null && code.expires_at <= now) throw new AppError('REDEEM_CODE_EXPIRED');
    const key = `redeem:${code.id}:${userId}`;
    let result: Redeemed;
    try {
      result = await retry(
        () =>
          transact(this.db, async (trx) => {
            if (await this.repo.hasRedeemed(code.id, userId, trx)) throw new AppError('REDEEM_ALREADY_REDEEMED');
            if (!(await this.repo.takeUse(code.id, now, trx))) throw new AppError('REDEEM_CODE_USED');
            await this.repo.insertRedemption(
              { id: newId(now), code_id: code.id, user_id: userId, credits: code.credits, created_at: now },
              trx,
            );
            let balance = (await this.credits.account(userId, trx)).balance;
            if (code.credits > 0) {
              const movement = {
                kind: 'redeem' as const,
                reason: 'Redeem code',
                reference: code.id,
                idempotencyKey: key,
              };
              balance = (await this.credits.grant(userId, code.credits, movement, trx)).balance;
            }
            if (!code.plan_id) return { credits: code.credits, balance, plan: null };
            const activation = await this.plans.activateIn(trx, {
              userId,
              planId: code.plan_id,
              mode: 'rule',
              days: code.plan_days ?? undefined,
              source: 'redeem',
              sourceRef: code.id,
              idempotencyKey: key,
            });
            const sub = activation.subscription;
            if (activation.creditsGranted > 0) balance = (await this.credits.account(userId, trx)).balance;
            return {
              credits: code.credits + activation.creditsGranted,
              balance,
              plan: {
                id: sub.plan_id,
                code: sub.plan_code,
                name: sub.plan_name,
                level: sub.level,
                expiresAt: sub.expires_at === null ? null : new Date(Number(sub.expires_at)).toISOString(),
              },
            };
          }),
        // A unique violation of the redemption itself is seen on the next run (REDEEM_ALREADY_REDEEMED).
        ACTIVATION_RETRY,
      );
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('REDEEM_ALREADY_REDEEMED');
      throw error;
    }
    if (result.plan) await this.plans.announce(userId);
    return result;
  }

  private view(row: RedeemCodeRow, now: number): RedeemCodeView {
    return {
      id: row.id,
      batchId: row.batch_id,
      code: this.box.open(row.code_sealed),
      credits: row.credits,
      planId: row.plan_id,
      planDays: row.plan_days,
      maxUses: row.max_uses,
      usedCount: row.used_count,
      state: stateOf(row, now),
      expiresAt: iso(row.expires_at),
      disabledAt: iso(row.disabled_at),
      note: row.note,
      createdAt: new Date(row.created_at).toISOString(),
    };
  }
}

export function stateOf(row: RedeemCodeRow, now: number): CodeState {
  if (row.disabled_at !== null) return 'disabled';
  if (row.expires_at !== null && row.expires_at <= now) return 'expired';
  if (row.used_count >= row.max_uses) return 'used';
  return 'active';
}

/** RFC 4180 quoting, and a leading quote against spreadsheet formula injection. */
function csvField(value: string | number): string {
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
