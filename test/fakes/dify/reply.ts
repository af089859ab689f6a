/** Writing FakeDify's non-stream answers: JSON, 204, binary, and Dify's error envelope. */
import type { ServerResponse } from 'node:http';
import type { Outcome } from './context.ts';
import type { DifyErrorReply } from './errors.ts';
import { toJson } from './json.ts';

const JSON_TYPE = 'application/json';

export function writeError(response: ServerResponse, reply: DifyErrorReply, spaced: boolean | undefined): void {
  if (reply.html !== undefined) {
    response.writeHead(reply.status, { 'content-type': 'text/html', ...reply.headers });
    response.end(reply.html);
    return;
  }
  response.writeHead(reply.status, { 'content-type': JSON_TYPE, ...reply.headers });
  response.end(toJson({ code: reply.code, message: reply.message, status: reply.status }, spaced));
}

export function writeOutcome(
  response: ServerResponse,
  outcome: Exclude<Outcome, { kind: 'stream' }>,
  spaced: boolean | undefined,
): void {
  switch (outcome.kind) {
    case 'json':
      response.writeHead(outcome.status ?? 200, { 'content-type': JSON_TYPE });
      response.end(toJson(outcome.body, spaced));
      return;
    case 'no-content':
      response.writeHead(204);
      response.end();
      return;
    case 'binary':
      response.writeHead(200, { 'content-type': outcome.contentType, 'content-length': outcome.data.length });
      response.end(outcome.data);
      return;
  }
}
