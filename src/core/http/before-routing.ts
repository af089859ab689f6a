import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { AppError, type ErrorCode } from '#core/errors.ts';
import { pickLang, type Lang } from '#core/i18n.ts';
import { newId } from '#core/ids.ts';
import { renderAppError, sendError } from './error-handler.ts';

/**
 * Answers given before any route runs, in the documented shapes instead of Fastify's own bodies:
 * requests Node's HTTP parser refuses (written on the raw socket), and requests that arrive while the
 * server closes. The rest of what Fastify refuses early (404, a malformed URL, a body too large, an
 * unsupported type, a Content-Length the body does not match) goes through error-handler.ts.
 */

/** The parser's errors by code; anything else it refuses is not HTTP (a bad request line, header or chunk, smuggling). */
const PARSER_ERRORS: Record<string, ErrorCode> = {
  HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE',
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
};

/** What can be read of a request the parser refused: its path (empty when the request line is not HTTP) and its language. */
function sketchOf(rawPacket: unknown): { path: string; lang: Lang } {
  const head = Buffer.isBuffer(rawPacket) ? rawPacket.subarray(0, 32 * 1024).toString('latin1') : '';
  const path = /^[A-Z]+ (\/[^\s]{0,2048}) HTTP\/1\.[01]\r\n/.exec(head)?.[1] ?? '';
  const language = /\r\naccept-language:[ \t]*([^\r\n]{0,200})/i.exec(head)?.[1];
  return { path, lang: pickLang(language) };
}

/**
 * Fastify's `clientErrorHandler`: the parser refused what came on a connection (a 20 KB header, bytes
 * past a body's Content-Length that are not a request, a bad chunk). Writes one whole HTTP/1.1 answer
 * in the envelope (or OpenAI's shape under /v1) with Connection: close, unless an answer on that
 * connection has begun, and closes it as Node would.
 */
export function clientErrorHandler(
  this: FastifyInstance,
  error: NodeJS.ErrnoException & { rawPacket?: unknown },
  socket: Socket,
): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code = PARSER_ERRORS[error.code ?? ''] ?? 'MALFORMED_REQUEST';
  const { path, lang } = sketchOf(error.rawPacket);
  const requestId = newId();
  this.log.info({ reqId: requestId, parserError: error.code, code }, 'request refused before routing');
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const { status, body } = renderAppError(new AppError(code), lang, path);
    const text = JSON.stringify(body);
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\nx-request-id: ${requestId}\r\n\r\n${text}`,
    );
  }
  socket.destroy(error);
}

/**
 * A request that arrives while the server closes (on a connection kept alive, or pipelined behind a
 * call still running) is 503 SERVICE_UNAVAILABLE in its route's shape, with Connection: close, so a
 * client or load balancer retries it elsewhere; the calls already running finish. It replaces
 * Fastify's `return503OnClosing`, whose body is its own.
 */
export function refuseRequestsWhileClosing(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (request, reply, done) => {
    if (!closing) return done();
    reply.header('connection', 'close');
    sendError(new AppError('SERVICE_UNAVAILABLE'), request, reply);
  });
}
