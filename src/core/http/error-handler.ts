import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, translate, type ErrorCode } from '#core/errors.ts';
import { langOf, type Lang } from '#core/i18n.ts';
import { openAiError } from './openai-errors.ts';
import { describeForOpenAi, describeValidationError, type FieldViolation } from './validation.ts';

/** How a surface spells its errors; chosen per route with `config.errorFormat`. */
export type ErrorFormat = 'envelope' | 'fastapi' | 'openai';

interface RenderedError {
  status: number;
  code: string;
  message: string;
  extra: Record<string, unknown>;
  /** The body field at fault, named and coded as OpenAI does (OpenAI-format routes only). */
  field?: FieldViolation;
}

/** Framework errors that are the client's fault, by Fastify error code. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'EMPTY_BODY',
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_BAD_URL: 'BAD_URL',
};

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST', // MySQL
  'ER_CON_COUNT_ERROR',
  '57P01', // PostgreSQL: admin shutdown
  '57P03', // cannot connect now
  '08000',
  '08001',
  '08003',
  '08006',
  'SQLITE_BUSY',
]);
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Connection is closed|MaxRetriesPerRequest|enableOfflineQueue|Client has encountered a connection error/i;

/**
 * The database or Redis could not be reached (a restart, a failover, a network blip): the request
 * did nothing that stays, and may simply be retried, so it is 503 with Retry-After, not a 500.
 */
export function isBackendUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, name, message, fatal, statusCode } = error as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
    fatal?: unknown;
    statusCode?: unknown;
  };
  // A client's own fault (Node's `aborted` for a body cut off is ECONNRESET with 400) is no outage.
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) return false;
  return (
    (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) ||
    // mysql2 marks the errors of a connection that broke (not of a statement) fatal, some with no code
    // ("Can't add new command when connection is in closed state").
    fatal === true ||
    name === 'MaxRetriesPerRequestError' ||
    (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message))
  );
}

function toRendered(error: unknown, request: FastifyRequest, lang: Lang, format: ErrorFormat): RenderedError {
  if (isBackendUnavailable(error))
    return { status: 503, code: 'SERVICE_UNAVAILABLE', message: translate(lang, 'SERVICE_UNAVAILABLE'), extra: {} };
  if (error instanceof AppError) {
    return {
      status: error.status,
      code: error.code,
      message: translate(lang, error.code, error.params),
      extra: error.extra,
    };
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    // OpenAI answers a wrong field with its own words and names the field in `param`.
    const field =
      format === 'openai' && fastifyError.validationContext === 'body'
        ? describeForOpenAi(lang, fastifyError.validation as never, request.body)
        : undefined;
    if (field) return { status: 400, code: 'VALIDATION_FAILED', message: field.message, extra: {}, field };
    const detail = describeValidationError(lang, fastifyError.validation as never, fastifyError.validationContext);
    return {
      status: 400,
      code: 'VALIDATION_FAILED',
      message: translate(lang, 'VALIDATION_FAILED', { detail }),
      extra: {},
    };
  }
  const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) {
    const params = { type: request.headers['content-type'] ?? '', detail: fastifyError.message };
    return { status: new AppError(mapped).status, code: mapped, message: translate(lang, mapped, params), extra: {} };
  }
  // A client error raised by a plugin (e.g. 429 from a limiter) keeps its status; the rest is ours.
  const status = fastifyError.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return { status, code: fastifyError.code ?? 'CLIENT_ERROR', message: fastifyError.message, extra: {} };
  }
  return { status: 500, code: 'INTERNAL', message: translate(lang, 'INTERNAL'), extra: {} };
}

function render(format: ErrorFormat, rendered: RenderedError, path: string) {
  if (format === 'fastapi') return { detail: rendered.message, ...rendered.extra };
  if (format === 'openai')
    return openAiError(rendered.status, rendered.code, rendered.message, rendered.extra, rendered.field);
  return {
    success: false,
    statusCode: rendered.status,
    error: STATUS_CODES[rendered.status] ?? 'Error',
    code: rendered.code,
    message: rendered.message,
    ...rendered.extra,
    timestamp: new Date().toISOString(),
    path,
  };
}

/** Seed 003's mini-program API shares `/v1` with the OpenAI surface; these first segments are its own. */
const SEED_003_V1 =
  /^\/v1\/(auth|users|vip|orders|points|proxy|favorites|gallery|templates|stats|characters|upload|admin)(\/|\?|$)/;

/**
 * The error format of a path no route has taken: the OpenAI surface answers as OpenAI does, seed
 * 003's paths under `/v1` and the rest in the envelope.
 */
export function formatOfPath(path: string): ErrorFormat {
  return path.startsWith('/v1/') && !SEED_003_V1.test(path) ? 'openai' : 'envelope';
}

/**
 * An AppError as a status and a body, for answers written outside a reply (on the raw socket of a
 * request HTTP could not parse): `path` as far as it could be read, `format` by formatOfPath.
 */
export function renderAppError(error: AppError, lang: Lang, path: string): { status: number; body: unknown } {
  const rendered = {
    status: error.status,
    code: error.code,
    message: translate(lang, error.code, error.params),
    extra: error.extra,
  };
  return { status: error.status, body: render(formatOfPath(path), rendered, path) };
}

/** The route's error format (`config.errorFormat`), the envelope unless the route chose another. */
function formatOf(request: FastifyRequest): ErrorFormat {
  return request.routeOptions.config.errorFormat ?? 'envelope';
}

export function sendError(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  format: ErrorFormat = formatOf(request),
): FastifyReply {
  const lang = langOf(request);
  const rendered = toRendered(error, request, lang, format);
  if (rendered.status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: rendered.code, status: rendered.status }, 'request refused');
  if (error instanceof AppError && error.retryAfter !== undefined)
    reply.header('retry-after', String(error.retryAfter));
  else if (rendered.code === 'SERVICE_UNAVAILABLE') reply.header('retry-after', '1');
  // FastAPI answers schema violations with 422.
  if (format === 'fastapi' && rendered.code === 'VALIDATION_FAILED') rendered.status = 422;
  // An error body is never shaped by the route's response schema for that status (/api/health has one for 503).
  return reply
    .status(rendered.status)
    .type('application/json; charset=utf-8')
    .serializer(JSON.stringify)
    .send(render(format, rendered, request.url));
}

/**
 * Fastify's `frameworkErrors` option: errors raised before routing (a malformed URL such as
 * `/%zz`), where no hook has run, still get the envelope and the request id.
 */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id);
  sendError(error, request, reply, 'envelope');
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    // The OpenAI surface answers unknown paths the way OpenAI does.
    sendError(
      new AppError('ROUTE_NOT_FOUND', { method: request.method, url: path }),
      request,
      reply,
      formatOfPath(path),
    );
  });
}
