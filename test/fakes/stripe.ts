import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for api.stripe.com on 127.0.0.1 that the official `stripe` package talks to (pointed at
 * it with `host`/`port`/`protocol`), speaking the parts Tollgate uses as
 * shared/reference/payments-storage-console.md §2 gives them:
 *
 * - Every call needs `Authorization: Bearer <secret key>` (401 `invalid_request_error` otherwise);
 *   POST bodies are `application/x-www-form-urlencoded` with bracketed keys (`line_items[0][price_data][currency]`),
 *   GET parameters the same in the query string.
 * - `POST /v1/checkout/sessions` (mode `payment`, one line item with `price_data`): an open session;
 *   `GET /v1/checkout/sessions/:id` (`expand[]=payment_intent`); `POST /v1/checkout/sessions/:id/expire`
 *   (only an open one; 400 otherwise).
 * - `GET /v1/payment_intents/:id` (with the metadata given in `payment_intent_data`).
 * - `POST /v1/refunds` (`payment_intent`, `amount`, `reason`, `metadata`): a refund that succeeds at once
 *   (or stays `pending` when `refundsPending` is set) and at most what is left of the charge;
 *   `GET /v1/refunds?charge=` lists a charge's refunds, newest first.
 * - `Idempotency-Key` on a POST: the same key with the same parameters answers the first answer again; with
 *   other parameters 400 `idempotency_error`.
 * - Errors in Stripe's shape `{error: {type, code?, message, param?}}` and status (400, 401, 404, 500),
 *   with `Stripe-Should-Retry: false` on 4xx so the client never retries them.
 *
 * What a payer does in the browser is done by the test: `pay(sessionId)` completes the session (a
 * PaymentIntent `pi_…` and a Charge `ch_…`), `expireByTime(sessionId)` lets it time out. Each change
 * makes the event Stripe would send (`checkout.session.completed`, `checkout.session.expired`,
 * `charge.refunded`, `refund.created`/`refund.updated`), kept in `events`; `signedDelivery(event)` gives
 * the exact body and `Stripe-Signature` header Stripe would POST (real HMAC-SHA256 with the endpoint's
 * `whsec_` secret, `t=<unix s>,v1=<hex>`), with a chosen timestamp or secret for the bad paths.
 *
 * Failures on demand: `failNext(times)` answers 500 `api_error`; `unreachable()` drops connections.
 */
export type Json = Record<string, unknown>;

export interface FakeSession extends Json {
  id: string;
  object: 'checkout.session';
  status: 'open' | 'complete' | 'expired';
  payment_status: 'paid' | 'unpaid';
  client_reference_id: string | null;
  metadata: Record<string, string>;
  amount_total: number;
  currency: string;
  payment_intent: string | null;
  url: string | null;
}

export interface FakeRefund extends Json {
  id: string;
  object: 'refund';
  amount: number;
  charge: string;
  payment_intent: string;
  currency: string;
  status: 'pending' | 'succeeded' | 'failed' | 'canceled';
  metadata: Record<string, string>;
  created: number;
}

export interface FakeEvent extends Json {
  id: string;
  object: 'event';
  type: string;
  created: number;
  data: { object: Json };
}

interface Charge extends Json {
  id: string;
  amount: number;
  amount_refunded: number;
  payment_intent: string;
  currency: string;
  metadata: Record<string, string>;
}

class StripeFault extends Error {
  constructor(
    readonly status: number,
    readonly error: { type: string; message: string; code?: string; param?: string },
  ) {
    super(error.message);
  }
}

export const API_VERSION = '2026-10-28.endive';

export class FakeStripe {
  readonly secretKey: string;
  readonly webhookSecret: string;
  /** Every request received, in order: method, path (no query) and parsed parameters. */
  readonly requests: { method: string; path: string; params: Json; idempotencyKey: string | undefined }[] = [];
  /** Every event the fake made, oldest first. */
  readonly events: FakeEvent[] = [];
  readonly sessions = new Map<string, FakeSession>();
  readonly refunds = new Map<string, FakeRefund>();
  /** New refunds stay `pending` (as some payment methods do) until `settleRefund`. */
  refundsPending = false;
  private readonly charges = new Map<string, Charge>();
  private readonly chargeOfIntent = new Map<string, string>();
  /** PaymentIntents of sessions completed unpaid (a delayed method): no charge until they succeed. */
  private readonly unpaidIntents = new Map<
    string,
    {
      status: 'processing' | 'requires_payment_method';
      amount: number;
      currency: string;
      metadata: Record<string, string>;
      created: number;
    }
  >();
  private readonly idempotency = new Map<string, { params: string; status: number; body: Json }>();
  private failures = 0;
  private down = false;

  private constructor(
    private readonly server: Server,
    readonly baseUrl: string,
    readonly port: number,
    secretKey: string,
    webhookSecret: string,
  ) {
    this.secretKey = secretKey;
    this.webhookSecret = webhookSecret;
  }

  static async start(options: { secretKey?: string; webhookSecret?: string } = {}): Promise<FakeStripe> {
    const secretKey = options.secretKey ?? `sk_test_${randomBytes(24).toString('hex')}`;
    const webhookSecret = options.webhookSecret ?? `whsec_${randomBytes(24).toString('base64')}`;
    const server = createServer((request, response) => {
      void fake.handle(request, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new FakeStripe(server, `http://127.0.0.1:${port}`, port, secretKey, webhookSecret);
    return fake;
  }

  /** The payer pays a session in the browser: it completes, paid, with a new PaymentIntent and Charge. */
  pay(sessionId: string): FakeEvent {
    const session = this.mustSession(sessionId);
    if (session.status !== 'open') throw new Error(`session ${sessionId} is ${session.status}, not open`);
    const intent = `pi_${randomBytes(12).toString('hex')}`;
    const charge: Charge = {
      id: `ch_${randomBytes(12).toString('hex')}`,
      object: 'charge',
      amount: session.amount_total,
      amount_refunded: 0,
      amount_captured: session.amount_total,
      captured: true,
      paid: true,
      refunded: false,
      status: 'succeeded',
      currency: session.currency,
      payment_intent: intent,
      metadata: { ...(session.payment_intent_metadata as Record<string, string>) },
      created: now(),
      livemode: false,
    };
    this.charges.set(charge.id, charge);
    this.chargeOfIntent.set(intent, charge.id);
    Object.assign(session, { status: 'complete', payment_status: 'paid', payment_intent: intent, url: null });
    return this.emit('checkout.session.completed', this.publicSession(session));
  }

  /**
   * A delayed method (a bank debit): the customer completes the session, which stays unpaid while the
   * PaymentIntent is `processing` (`checkout.session.completed` with `payment_status: unpaid`).
   */
  completeUnpaid(sessionId: string): FakeEvent {
    const session = this.mustSession(sessionId);
    if (session.status !== 'open') throw new Error(`session ${sessionId} is ${session.status}, not open`);
    const intent = `pi_${randomBytes(12).toString('hex')}`;
    this.unpaidIntents.set(intent, {
      status: 'processing',
      amount: session.amount_total,
      currency: session.currency,
      metadata: { ...(session.payment_intent_metadata as Record<string, string>) },
      created: now(),
    });
    Object.assign(session, { status: 'complete', payment_status: 'unpaid', payment_intent: intent, url: null });
    return this.emit('checkout.session.completed', this.publicSession(session));
  }

  /** The delayed payment of a session completed unpaid fails: `checkout.session.async_payment_failed`. */
  failDelayedPayment(sessionId: string): FakeEvent {
    const session = this.mustSession(sessionId);
    const intent = session.payment_intent ? this.unpaidIntents.get(session.payment_intent) : undefined;
    if (!intent || intent.status !== 'processing') throw new Error(`session ${sessionId} has no payment in progress`);
    intent.status = 'requires_payment_method';
    return this.emit('checkout.session.async_payment_failed', this.publicSession(session));
  }

  /** The session reaches its `expires_at` unpaid. */
  expireByTime(sessionId: string): FakeEvent {
    const session = this.mustSession(sessionId);
    if (session.status !== 'open') throw new Error(`session ${sessionId} is ${session.status}, not open`);
    Object.assign(session, { status: 'expired', url: null });
    return this.emit('checkout.session.expired', this.publicSession(session));
  }

  /** A pending refund succeeds (or fails): `refund.updated`, and `charge.refunded` when it succeeded. */
  settleRefund(refundId: string, status: 'succeeded' | 'failed' = 'succeeded'): FakeEvent[] {
    const refund = this.refunds.get(refundId);
    if (!refund || refund.status !== 'pending') throw new Error(`refund ${refundId} is not pending`);
    refund.status = status;
    const charge = this.charges.get(refund.charge)!;
    if (status === 'failed') charge.amount_refunded -= refund.amount;
    const events = [this.emit('refund.updated', { ...refund })];
    if (status === 'succeeded') events.push(this.emit('charge.refunded', this.publicCharge(charge)));
    return events;
  }

  chargeOf(paymentIntent: string): Json | undefined {
    const id = this.chargeOfIntent.get(paymentIntent);
    return id ? this.publicCharge(this.charges.get(id)!) : undefined;
  }

  /** An event as Stripe builds one (for tests that need one the fake did not make). */
  makeEvent(type: string, object: Json): FakeEvent {
    return {
      id: `evt_${randomBytes(12).toString('hex')}`,
      object: 'event',
      api_version: API_VERSION,
      created: now(),
      data: { object },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    };
  }

  /**
   * What Stripe POSTs to the endpoint for `event`: the body, byte for byte, and its headers.
   * `timestamp` (unix seconds) and `secret` may be chosen to make stale or foreign deliveries.
   */
  signedDelivery(
    event: Json,
    options: { timestamp?: number; secret?: string; body?: string } = {},
  ): { body: string; headers: Record<string, string> } {
    const body = options.body ?? JSON.stringify(event, null, 2);
    const timestamp = options.timestamp ?? now();
    return {
      body,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        'stripe-signature': stripeSignatureHeader(body, options.secret ?? this.webhookSecret, timestamp),
      },
    };
  }

  /** The next `times` API calls answer 500 `api_error`. */
  failNext(times = 1): void {
    this.failures += times;
  }

  unreachable(): void {
    this.down = true;
  }

  recover(): void {
    this.down = false;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (this.down) {
      request.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const url = new URL(request.url ?? '/', 'http://fake');
    const method = request.method ?? 'GET';
    const form = method === 'GET' || method === 'DELETE' ? url.search.slice(1) : Buffer.concat(chunks).toString('utf8');
    const params = parseForm(form);
    const key = header(request, 'idempotency-key');
    this.requests.push({ method, path: url.pathname, params, idempotencyKey: key });
    try {
      if (header(request, 'authorization') !== `Bearer ${this.secretKey}`) {
        throw new StripeFault(401, {
          type: 'invalid_request_error',
          message: 'Invalid API Key provided: ' + maskKey(header(request, 'authorization') ?? ''),
        });
      }
      if (method === 'POST' && !(header(request, 'content-type') ?? '').startsWith('application/x-www-form-urlencoded'))
        throw new StripeFault(400, { type: 'invalid_request_error', message: 'Invalid request body' });
      if (this.failures > 0) {
        this.failures -= 1;
        throw new StripeFault(500, { type: 'api_error', message: 'An unknown error occurred' });
      }
      if (method === 'POST' && key !== undefined) return this.idempotent(response, key, method, url.pathname, params);
      this.send(response, 200, this.route(method, url.pathname, params));
    } catch (error) {
      if (!(error instanceof StripeFault)) throw error;
      this.send(response, error.status, { error: error.error });
    }
  }

  private idempotent(response: ServerResponse, key: string, method: string, path: string, params: Json): void {
    const fingerprint = `${method} ${path} ${JSON.stringify(params)}`;
    const seen = this.idempotency.get(key);
    if (seen && seen.params !== fingerprint)
      throw new StripeFault(400, {
        type: 'idempotency_error',
        message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
      });
    if (seen) return this.send(response, seen.status, seen.body, { 'idempotent-replayed': 'true' });
    try {
      const body = this.route(method, path, params);
      this.idempotency.set(key, { params: fingerprint, status: 200, body });
      this.send(response, 200, body);
    } catch (error) {
      if (error instanceof StripeFault && error.status < 500)
        this.idempotency.set(key, { params: fingerprint, status: error.status, body: { error: error.error } });
      throw error;
    }
  }

  private route(method: string, path: string, params: Json): Json {
    if (method === 'POST' && path === '/v1/checkout/sessions') return this.createSession(params);
    let match = /^\/v1\/checkout\/sessions\/([^/]+)$/.exec(path);
    if (method === 'GET' && match) return this.retrieveSession(match[1]!, params);
    match = /^\/v1\/checkout\/sessions\/([^/]+)\/expire$/.exec(path);
    if (method === 'POST' && match) return this.expireSession(match[1]!);
    match = /^\/v1\/payment_intents\/([^/]+)$/.exec(path);
    if (method === 'GET' && match) return this.retrieveIntent(match[1]!);
    if (method === 'POST' && path === '/v1/refunds') return this.createRefund(params);
    if (method === 'GET' && path === '/v1/refunds') return this.listRefunds(params);
    throw new StripeFault(404, {
      type: 'invalid_request_error',
      message: `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
    });
  }

  private createSession(params: Json): Json {
    if (params.mode !== 'payment') throw invalid('mode', 'Invalid mode: must be one of payment, setup or subscription');
    if (typeof params.success_url !== 'string') throw invalid('success_url', 'Missing required param: success_url.');
    const items = params.line_items as Json[] | undefined;
    if (!Array.isArray(items) || items.length !== 1) throw invalid('line_items', 'Missing required param: line_items.');
    const item = items[0]!;
    const priceData = (item.price_data ?? {}) as Json;
    const currency = typeof priceData.currency === 'string' ? priceData.currency : '';
    const unitAmount = Number(priceData.unit_amount);
    const quantity = Number(item.quantity ?? 1);
    if (!/^[a-z]{3}$/.test(currency))
      throw invalid('line_items[0][price_data][currency]', `Invalid currency: ${currency}.`);
    if (!Number.isInteger(unitAmount) || unitAmount < 1)
      throw invalid('line_items[0][price_data][unit_amount]', 'Invalid integer: ' + String(priceData.unit_amount));
    if (!(priceData.product_data as Json | undefined)?.name)
      throw invalid('line_items[0][price_data][product_data][name]', 'Missing required param: name.');
    const created = now();
    const expiresAt = params.expires_at === undefined ? created + 86_400 : Number(params.expires_at);
    if (!Number.isInteger(expiresAt) || expiresAt < created + 1800 || expiresAt > created + 86_400)
      throw invalid(
        'expires_at',
        'The `expires_at` timestamp must be between 30 minutes and 24 hours after the Checkout Session is created.',
      );
    const id = `cs_test_${randomBytes(28).toString('base64url')}`;
    const session: FakeSession = {
      id,
      object: 'checkout.session',
      amount_subtotal: unitAmount * quantity,
      amount_total: unitAmount * quantity,
      cancel_url: params.cancel_url ?? null,
      client_reference_id: (params.client_reference_id as string | undefined) ?? null,
      created,
      currency,
      expires_at: expiresAt,
      livemode: false,
      metadata: (params.metadata as Record<string, string> | undefined) ?? {},
      mode: 'payment',
      payment_intent: null,
      payment_status: 'unpaid',
      status: 'open',
      success_url: params.success_url,
      url: `${this.baseUrl}/c/pay/${id}`,
      payment_intent_metadata: (params.payment_intent_data as Json | undefined)?.metadata ?? {},
    };
    this.sessions.set(id, session);
    return this.publicSession(session);
  }

  private retrieveSession(id: string, params: Json): Json {
    const session = this.sessions.get(id);
    if (!session) throw missing('session', id);
    const out: Json = this.publicSession(session);
    const expand = (params.expand as string[] | undefined) ?? [];
    if (expand.includes('payment_intent') && session.payment_intent) {
      out.payment_intent = this.retrieveIntent(session.payment_intent);
    }
    return out;
  }

  private retrieveIntent(id: string): Json {
    const unpaid = this.unpaidIntents.get(id);
    if (unpaid) {
      const { metadata, ...rest } = unpaid;
      return {
        id,
        object: 'payment_intent',
        amount_received: 0,
        latest_charge: null,
        metadata: { ...metadata },
        ...rest,
      };
    }
    const chargeId = this.chargeOfIntent.get(id);
    if (!chargeId) throw missing('payment_intent', id, 'intent');
    return this.intentOf(this.charges.get(chargeId)!);
  }

  private intentOf(charge: Charge): Json {
    return {
      id: charge.payment_intent,
      object: 'payment_intent',
      amount: charge.amount,
      amount_received: charge.amount,
      currency: charge.currency,
      status: 'succeeded',
      latest_charge: charge.id,
      metadata: { ...charge.metadata },
      created: charge.created,
    };
  }

  private expireSession(id: string): Json {
    const session = this.sessions.get(id);
    if (!session) throw missing('session', id);
    if (session.status !== 'open')
      throw invalid(
        undefined,
        `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of ${session.status}.`,
      );
    Object.assign(session, { status: 'expired', url: null });
    const out = this.publicSession(session);
    this.emit('checkout.session.expired', out);
    return out;
  }

  private createRefund(params: Json): Json {
    const intent = params.payment_intent as string | undefined;
    const chargeId = (params.charge as string | undefined) ?? (intent ? this.chargeOfIntent.get(intent) : undefined);
    if (!intent && !params.charge)
      throw invalid(
        undefined,
        'One of the following params should be provided for this request: payment_intent or charge.',
      );
    const charge = chargeId ? this.charges.get(chargeId) : undefined;
    if (!charge) throw missing('payment_intent', intent ?? String(params.charge), 'payment_intent');
    const left = charge.amount - charge.amount_refunded;
    const amount = params.amount === undefined ? left : Number(params.amount);
    if (left === 0)
      throw new StripeFault(400, {
        type: 'invalid_request_error',
        code: 'charge_already_refunded',
        message: `Charge ${charge.id} has already been refunded.`,
      });
    if (!Number.isInteger(amount) || amount < 1) throw invalid('amount', 'Invalid positive integer');
    if (amount > left)
      throw new StripeFault(400, {
        type: 'invalid_request_error',
        code: 'amount_too_large',
        param: 'amount',
        message: `Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`,
      });
    const refund: FakeRefund = {
      id: `re_${randomBytes(12).toString('hex')}`,
      object: 'refund',
      amount,
      charge: charge.id,
      created: now(),
      currency: charge.currency,
      metadata: (params.metadata as Record<string, string> | undefined) ?? {},
      payment_intent: charge.payment_intent,
      reason: params.reason ?? null,
      status: this.refundsPending ? 'pending' : 'succeeded',
    };
    this.refunds.set(refund.id, refund);
    charge.amount_refunded += amount;
    this.emit('refund.created', { ...refund });
    if (refund.status === 'succeeded') this.emit('charge.refunded', this.publicCharge(charge));
    return { ...refund };
  }

  private listRefunds(params: Json): Json {
    const charge = params.charge as string | undefined;
    const intent = params.payment_intent as string | undefined;
    const data = [...this.refunds.values()]
      .filter(
        (r) => (charge === undefined || r.charge === charge) && (intent === undefined || r.payment_intent === intent),
      )
      .reverse()
      .map((r) => ({ ...r }));
    return { object: 'list', data, has_more: false, url: '/v1/refunds' };
  }

  private publicSession(session: FakeSession): FakeSession {
    const copy: FakeSession = { ...session, metadata: { ...session.metadata } };
    delete copy.payment_intent_metadata;
    return copy;
  }

  private publicCharge(charge: Charge): Json {
    return {
      ...charge,
      metadata: { ...charge.metadata },
      refunded: charge.amount_refunded === charge.amount,
    };
  }

  private mustSession(id: string): FakeSession {
    const session = this.sessions.get(id);
    if (!session) throw new Error(`no session ${id}`);
    return session;
  }

  private emit(type: string, object: Json): FakeEvent {
    const event = this.makeEvent(type, object);
    this.events.push(event);
    return event;
  }

  private send(response: ServerResponse, status: number, body: Json, headers: Record<string, string> = {}): void {
    response.writeHead(status, {
      'content-type': 'application/json',
      'request-id': `req_${randomBytes(7).toString('hex')}`,
      'stripe-version': API_VERSION,
      ...(status >= 400 && status < 500 ? { 'stripe-should-retry': 'false' } : {}),
      ...headers,
    });
    response.end(JSON.stringify(body, null, 2));
  }
}

/** `t=<unix s>,v1=<hex HMAC-SHA256 of "t.body" keyed with the whsec_ secret as it is>`, as Stripe signs. */
export function stripeSignatureHeader(body: string, secret: string, timestamp: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

/** Parses Stripe's form encoding: `a[b][0][c]=v` → `{a: {b: [{c: 'v'}]}}`; `expand[]=x` appends. */
export function parseForm(text: string): Json {
  const root: Json = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const [head, ...rest] = rawKey.split('[');
    const path = [head!, ...rest.map((part) => part.replace(/]$/, ''))];
    let node: Json | unknown[] = root;
    for (let i = 0; i < path.length; i++) {
      const part = path[i]!;
      const last = i === path.length - 1;
      const nextIsIndex = !last && /^\d*$/.test(path[i + 1]!);
      const slot = Array.isArray(node) ? (part === '' ? node.length : Number(part)) : part;
      const container = node as Record<string | number, unknown>;
      if (last) container[slot] = value;
      else {
        container[slot] ??= nextIsIndex ? [] : {};
        node = container[slot] as Json | unknown[];
      }
    }
  }
  return root;
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

function maskKey(authorization: string): string {
  const key = authorization.replace(/^Bearer /, '');
  return key.length > 8 ? `${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}` : key;
}

function invalid(param: string | undefined, message: string): StripeFault {
  return new StripeFault(400, { type: 'invalid_request_error', message, ...(param ? { param } : {}) });
}

function missing(what: string, id: string, param = 'id'): StripeFault {
  return new StripeFault(404, {
    type: 'invalid_request_error',
    code: 'resource_missing',
    param,
    message: `No such ${what}: '${id}'`,
  });
}
