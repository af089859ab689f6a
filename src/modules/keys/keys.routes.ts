import { Type } from 'typebox';
import { AppError } from '#core/errors.ts';
import type { App } from '#core/http/route-config.ts';
import { isIpOrCidr } from './ip-allowlist.ts';
import { CreatedKey, CreateKeyBody, KeyIdParams, KeyView, toKeyView, UpdateKeyBody } from './keys.schemas.ts';
import type { UsageService } from '#modules/usage/usage.service.ts';
import type { KeySettings, KeysService } from './keys.service.ts';
import { principalOf } from '#core/http/principal.ts';

type Body = {
  name?: string;
  enabled?: boolean;
  expiresAt?: string | null;
  allowedModels?: string[] | null;
  allowedIps?: string[] | null;
  creditCap?: number | null;
  rateLimits?: { rpm?: number | null; tpm?: number | null; concurrency?: number | null; rpd?: number | null };
};

/** Turns a request body into settings, refusing bad IPs and past expiry dates. */
function settingsOf(body: Body, now: number): Partial<KeySettings> {
  const settings: Partial<KeySettings> = {};
  if (body.name !== undefined) {
    settings.name = body.name.trim();
    if (settings.name.length === 0) throw new AppError('VALIDATION_FAILED', { detail: 'name must not be blank' });
  }
  if (body.enabled !== undefined) settings.enabled = body.enabled;
  if (body.expiresAt !== undefined) {
    const at = body.expiresAt === null ? null : Date.parse(body.expiresAt);
    if (at !== null && at <= now) throw new AppError('EXPIRES_AT_IN_PAST');
    settings.expiresAt = at;
  }
  if (body.allowedModels !== undefined) settings.allowedModels = body.allowedModels;
  if (body.allowedIps !== undefined) {
    const bad = body.allowedIps?.find((entry) => !isIpOrCidr(entry));
    if (bad !== undefined)
      throw new AppError('VALIDATION_FAILED', { detail: `allowedIps: "${bad}" is not an IP address or CIDR range` });
    settings.allowedIps = body.allowedIps;
  }
  if (body.creditCap !== undefined) settings.creditCap = body.creditCap;
  if (body.rateLimits !== undefined) {
    const { rpm = null, tpm = null, concurrency = null, rpd = null } = body.rateLimits;
    settings.limits = { rpm: rpm || null, tpm: tpm || null, concurrency: concurrency || null, rpd: rpd || null };
  }
  return settings;
}

/** `/api/keys`: a signed-in user's API keys. */
export function registerKeysRoutes(
  app: App,
  deps: { keys: KeysService; usage: UsageService; now: () => number },
): void {
  const { keys, usage } = deps;
  const spent = async (keyId: string) => (await usage.creditsByKey([keyId])).get(keyId) ?? 0;
  const tags = ['keys'];
  const security = [{ bearer: [] }];
  const config = { access: 'user' as const };

  app.post(
    '/api/keys',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Create an API key; the secret is shown once',
        body: CreateKeyBody,
        response: { 201: CreatedKey },
      },
    },
    async (request, reply) => {
      const given = settingsOf(request.body, deps.now());
      const { key, secret } = await keys.create(principalOf(request).userId, {
        name: given.name ?? request.body.name.trim(),
        enabled: true,
        expiresAt: given.expiresAt ?? null,
        allowedModels: given.allowedModels ?? null,
        allowedIps: given.allowedIps ?? null,
        creditCap: given.creditCap ?? null,
        limits: given.limits ?? { rpm: null, tpm: null, concurrency: null, rpd: null },
      });
      reply.status(201).header('cache-control', 'no-store');
      return { key: secret, apiKey: toKeyView(key, 0) };
    },
  );

  app.get(
    '/api/keys',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Your API keys (never their secrets)',
        response: { 200: Type.Object({ items: Type.Array(KeyView) }) },
      },
    },
    async (request) => {
      const rows = await keys.list(principalOf(request).userId);
      const charged = await usage.creditsByKey(rows.map((row) => row.id));
      return { items: rows.map((row) => toKeyView(row, charged.get(row.id) ?? 0)) };
    },
  );

  app.patch(
    '/api/keys/:id',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Change a key; takes effect at once on every instance',
        params: KeyIdParams,
        body: UpdateKeyBody,
        response: { 200: KeyView },
      },
    },
    async (request) => {
      const { id } = request.params;
      const key = await keys.update(principalOf(request).userId, id, settingsOf(request.body, deps.now()), () =>
        spent(id),
      );
      return toKeyView(key, await spent(id));
    },
  );

  app.delete(
    '/api/keys/:id',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Delete a key; it stops working at once',
        params: KeyIdParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await keys.remove(principalOf(request).userId, request.params.id);
      return reply.status(204).send(null);
    },
  );
}
