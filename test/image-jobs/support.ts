import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { App } from '#core/http/route-config.ts';
import { call, registerUser, type RegisteredUser, type TestApp } from '#test/helpers/test-app.ts';

/** Every job costs 10 credits an image in these tests (the admin's `image-job` row). */
export const PER_IMAGE = 10;

export interface Job {
  id: string;
  status: string;
  count: number;
  images: { id: string; url: string; width: number; height: number }[];
  creditsHeld: number;
  creditsCharged: number | null;
  error: { code: string; message: string } | null;
}

export async function priceJobs(app: App): Promise<void> {
  await app.services.pricing.set('image-job', {
    input: 0,
    output: 0,
    perRequest: 0,
    perImage: PER_IMAGE,
    maxOutputTokens: null,
  });
}

/** The seed-003 answer's data, after checking its status. */
export function data<T>(res: { statusCode: number; body: string; json: <U>() => U }, status = 200): T {
  expect(res.statusCode, res.body).toBe(status);
  return res.json<{ success: true; data: T }>().data;
}

export function jobsOf(app: App, user: { accessToken: string }) {
  const token = user.accessToken;
  return {
    generate: (body: unknown) => call(app, 'POST', '/v1/proxy/images/generate', { token, body }),
    get: (id: string) => call(app, 'GET', `/v1/proxy/jobs/${id}`, { token }),
    cancel: (id: string) => call(app, 'DELETE', `/v1/proxy/jobs/${id}`, { token }),
    list: (query = '') => call(app, 'GET', `/v1/proxy/jobs${query}`, { token }),
  };
}

/** The user's money as the tables hold it, checked against the ledger. */
export async function moneyOf(app: App, userId: string) {
  const { credits, database } = app.services;
  const account = await credits.account(userId);
  expect(account.balance).toBe(await credits.ledgerSum(userId));
  const [records, ledger, holds] = await Promise.all([
    database.db.selectFrom('usage_records').selectAll().where('user_id', '=', userId).execute(),
    database.db
      .selectFrom('credit_ledger')
      .selectAll()
      .where('user_id', '=', userId)
      .where('kind', '=', 'usage')
      .execute(),
    database.db.selectFrom('credit_holds').selectAll().where('user_id', '=', userId).execute(),
  ]);
  return {
    balance: account.balance,
    held: account.held,
    records: records.map((r) => ({
      status: r.status,
      credits: Number(r.credits),
      model: r.model,
      endReason: r.end_reason,
    })),
    usageRows: ledger.map((r) => Number(r.amount)),
    openHolds: holds.filter((h) => h.status === 'open').length,
  };
}

/** Registers a user on an instance of a shared backend (the mail outbox is in its data folder). */
export function registerOnShared(app: App, dataDir: string): Promise<RegisteredUser> {
  const outbox = () => readFileSync(join(dataDir, 'outbox.jsonl'), 'utf8').split('\n').filter(Boolean);
  const asTestApp = {
    app,
    lastCode: (email: string) =>
      (
        JSON.parse(
          outbox()
            .filter((line) => line.includes(email))
            .at(-1)!,
        ) as { text: string }
      ).text.match(/\b(\d{6})\b/)![1]!,
  } as unknown as TestApp;
  return registerUser(asTestApp);
}
