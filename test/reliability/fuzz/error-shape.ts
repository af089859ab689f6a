import { formatOfPath, type ErrorFormat } from '#core/http/error-handler.ts';

/**
 * The error shape a route answers in (its `config.errorFormat`), from its path as the surfaces are laid
 * out: the OpenAI surface (`/v1/…`, and seed 004's `/api/v1/chat/completions` and `/api/v1/models`),
 * seed 002's FastAPI surface (the rest of `/api/v1/…`), seed 001's envelope everywhere else.
 */
export function shapeOfRoute(path: string): ErrorFormat {
  if (/^\/api\/v1\/(chat\/completions|models)(\/|$)/.test(path)) return 'openai';
  if (path.startsWith('/api/v1/')) return 'fastapi';
  return formatOfPath(path);
}

/** What is wrong with an error answer for its shape, or undefined when it is a documented error body. */
export function shapeProblem(shape: ErrorFormat, status: number, text: string): string | undefined {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return `not JSON: ${text.slice(0, 120)}`;
  }
  const fields = (value: unknown, names: string[]) =>
    typeof value === 'object' && value !== null && names.every((name) => name in value);
  switch (shape) {
    case 'openai': {
      const error = body.error as Record<string, unknown> | undefined;
      return fields(error, ['message', 'type', 'param', 'code']) && typeof error!.message === 'string'
        ? undefined
        : `not OpenAI's {error}: ${text.slice(0, 160)}`;
    }
    case 'fastapi':
      return body.detail !== undefined ? undefined : `not FastAPI's {detail}: ${text.slice(0, 160)}`;
    case 'envelope':
      return body.success === false &&
        body.statusCode === status &&
        fields(body, ['error', 'code', 'message', 'timestamp', 'path'])
        ? undefined
        : `not the envelope for ${status}: ${text.slice(0, 160)}`;
  }
}
