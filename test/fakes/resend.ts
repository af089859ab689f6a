import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A sent email as Resend's POST /emails receives it. */
export interface ResendEmail {
  id: string;
  from: string;
  to: string | string[];
  subject: string;
  html?: string;
  text?: string;
  [field: string]: unknown;
}

export interface ResendFailure {
  status: number;
  name: string;
  message: string;
  headers?: Record<string, string>;
}

/** The failures of shared/reference/protocols.md §4.2–4.3, by name. */
export const RESEND_FAILURES = {
  invalidFrom: {
    status: 422,
    name: 'invalid_from_address',
    message:
      'Invalid `from` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format.',
  },
  internal: { status: 500, name: 'internal_server_error', message: 'An unexpected error occurred.' },
  rateLimited: {
    status: 429,
    name: 'rate_limit_exceeded',
    message: 'Too many requests. You can only make 2 requests per second.',
    headers: {
      'retry-after': '1',
      'ratelimit-limit': '2',
      'ratelimit-remaining': '0',
      'ratelimit-reset': '1',
      'ratelimit-policy': '2;w=1',
    },
  },
  dailyQuota: {
    status: 429,
    name: 'daily_quota_exceeded',
    message: 'You have reached your daily email sending quota.',
  },
} satisfies Record<string, ResendFailure>;

const FROM = /^([^<>@]*<[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/;

/**
 * A stand-in for api.resend.com on 127.0.0.1 that speaks its HTTP API: `POST /emails` with
 * `Authorization: Bearer <key>` and a JSON body; 200 `{id}` on success; errors as the flat
 * `{statusCode, message, name}` with `content-type: application/json; charset=utf-8`; rate-limit
 * headers on every answer. `fail()` makes it answer every send with one failure until `recover()`.
 */
export class FakeResend {
  /** Emails accepted (answered 200). */
  readonly emails: ResendEmail[] = [];
  /** Every well-formed email body received, accepted or not. */
  readonly seen: ResendEmail[] = [];
  private failure: ResendFailure | undefined;

  private constructor(
    private readonly server: Server,
    readonly apiKey: string,
    readonly baseUrl: string,
  ) {}

  static async start(options: { apiKey?: string; basePath?: string } = {}): Promise<FakeResend> {
    const apiKey = options.apiKey ?? `re_test_${randomUUID().replace(/-/g, '')}`;
    const basePath = options.basePath ?? '';
    const server = createServer((request, response) => {
      void fake.handle(request, response, basePath);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new FakeResend(server, apiKey, `http://127.0.0.1:${port}${basePath}`);
    return fake;
  }

  fail(failure: ResendFailure): void {
    this.failure = failure;
  }

  recover(): void {
    this.failure = undefined;
  }

  lastTo(email: string): ResendEmail | undefined {
    return this.emails.filter((e) => [e.to].flat().includes(email)).at(-1);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse, basePath: string): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'ratelimit-limit': '2',
        'ratelimit-remaining': '1',
        'ratelimit-reset': '1',
        'ratelimit-policy': '2;w=1',
        ...headers,
      });
      response.end(JSON.stringify(body));
    };
    const error = (status: number, name: string, message: string, headers?: Record<string, string>) =>
      send(status, { statusCode: status, message, name }, headers);

    if (request.url !== `${basePath}/emails`) return error(404, 'not_found', 'The requested endpoint does not exist.');
    if (request.method !== 'POST')
      return error(405, 'method_not_allowed', 'Method is not allowed for the requested path.');
    const authorization = request.headers.authorization;
    if (!authorization?.startsWith('Bearer ')) {
      return error(
        401,
        'missing_api_key',
        'Missing API key in the authorization header. Include the following header in your request: Authorization: Bearer YOUR_API_KEY',
      );
    }
    if (authorization.slice('Bearer '.length) !== this.apiKey)
      return error(403, 'invalid_api_key', 'API key is invalid');
    if (!request.headers['content-type']?.startsWith('application/json')) {
      return error(422, 'validation_error', 'Invalid `content-type` header. Use `application/json`.');
    }
    let email: ResendEmail;
    try {
      email = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ResendEmail;
    } catch {
      return error(400, 'validation_error', 'The request body is not valid JSON.');
    }
    for (const field of ['from', 'to', 'subject'] as const) {
      if (!email[field]) return error(422, 'missing_required_field', `Missing \`${field}\` field.`);
    }
    if (typeof email.from !== 'string' || !FROM.test(email.from))
      return error(422, RESEND_FAILURES.invalidFrom.name, RESEND_FAILURES.invalidFrom.message);
    if (email.html === undefined && email.text === undefined)
      return error(422, 'validation_error', 'Missing `html` or `text` field.');

    const id = randomUUID();
    this.seen.push({ ...email, id });
    if (this.failure) return error(this.failure.status, this.failure.name, this.failure.message, this.failure.headers);
    this.emails.push({ ...email, id });
    send(200, { id });
  }
}
