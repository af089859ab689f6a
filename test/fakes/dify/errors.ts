/**
 * Dify's error answers (dify-api.md §1.5–1.6): the envelope `{code, message, status}`, Dify's own
 * codes with their descriptions, and werkzeug's snake_case codes for plain HTTP errors.
 * Route handlers throw DifyError; the server turns it into the answer.
 */

export interface DifyErrorReply {
  status: number;
  code: string;
  message: string;
  /** Extra response headers (WWW-Authenticate on 401, Retry-After on 429). */
  headers?: Record<string, string>;
  /** When set, the body is this HTML instead of the JSON envelope (an edge proxy's 502). */
  html?: string;
}

export class DifyError extends Error {
  constructor(readonly reply: DifyErrorReply) {
    super(`${reply.status} ${reply.code}: ${reply.message}`);
  }
}

export const fail = (status: number, code: string, message: string, headers?: Record<string, string>): DifyError =>
  new DifyError({ status, code, message, ...(headers ? { headers } : {}) });

const WWW_AUTHENTICATE = { 'www-authenticate': 'Bearer realm="api"' };
const MODE_MISMATCH = 'Please check if your app mode matches the right API route.';

/** Descriptions of Dify's own error codes (service_api/app/error.py and werkzeug). */
export const DESCRIPTIONS: Readonly<Record<string, string>> = {
  invalid_param: 'Invalid parameter.',
  bad_request: 'The browser (or proxy) sent a request that this server could not understand.',
  app_unavailable: 'App unavailable, please check your app configurations.',
  not_chat_app: MODE_MISMATCH,
  not_completion_app: MODE_MISMATCH,
  not_workflow_app: MODE_MISMATCH,
  conversation_completed: 'The conversation has ended. Please start a new conversation.',
  provider_not_initialize:
    'No valid model provider credentials found. Please go to Settings -> Model Provider to complete your provider credentials.',
  provider_quota_exceeded:
    'Your quota for Dify Hosted Model Provider has been exhausted. Please go to Settings -> Model Provider to complete your own provider credentials.',
  model_currently_not_support: 'Dify Hosted OpenAI trial currently not support the GPT-4 model.',
  completion_request_error: 'Completion request failed.',
  no_file_uploaded: 'Please upload your file.',
  too_many_files: 'Only one file is allowed.',
  filename_not_exists_error: 'The specified filename does not exist.',
  file_too_large: 'File size exceeded.',
  unsupported_file_type: 'File type not allowed.',
  no_audio_uploaded: 'Please upload your audio.',
  audio_too_large: 'Audio size exceeded.',
  unsupported_audio_type: 'Audio type not allowed.',
  provider_not_support_speech_to_text: 'Provider not support speech to text.',
  unauthorized: 'Access token is invalid',
  forbidden: "The app's API service has been disabled.",
  not_found:
    'The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.',
  method_not_allowed: 'The method is not allowed for the requested URL.',
  too_many_requests: 'Too many requests. Please try again later.',
  rate_limit_error: 'Rate Limit Error',
  internal_server_error:
    'The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.',
  service_unavailable:
    'The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later.',
};

/** The HTTP status of each code when it arrives in-band (an `error` event carries one too). */
const CODE_STATUS: Readonly<Record<string, number>> = {
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  file_too_large: 413,
  audio_too_large: 413,
  unsupported_file_type: 415,
  unsupported_audio_type: 415,
  too_many_requests: 429,
  rate_limit_error: 429,
  internal_server_error: 500,
  service_unavailable: 503,
};

/** werkzeug's snake_case class name per status: the `code` of a plain HTTP error. */
const STATUS_CODE: Readonly<Record<number, string>> = {
  400: 'invalid_param',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'request_entity_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable_entity',
  429: 'too_many_requests',
  500: 'internal_server_error',
  502: 'bad_gateway',
  503: 'service_unavailable',
  504: 'gateway_timeout',
};

const BAD_GATEWAY_HTML =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

/** Pydantic's wording of a validation error, which Dify passes on as a 400 invalid_param. */
export const validationError = (model: string, field: string, problem: string): DifyError =>
  fail(400, 'invalid_param', `1 validation error for ${model}\n${field}\n  ${problem}`);

export const difyErrors = {
  noAuthHeader: () =>
    fail(401, 'unauthorized', "Authorization header must be provided and start with 'Bearer'", WWW_AUTHENTICATE),
  badScheme: () => fail(401, 'unauthorized', "Authorization scheme must be 'Bearer'", WWW_AUTHENTICATE),
  badToken: () => fail(401, 'unauthorized', 'Access token is invalid', WWW_AUTHENTICATE),
  badJson: () => fail(400, 'bad_request', 'Invalid JSON payload received or JSON payload is empty.'),
  userRequired: () => fail(400, 'invalid_param', 'Arg user must be provided.'),
  invalidParam: (message: string) => fail(400, 'invalid_param', message),
  notChatApp: () => fail(400, 'not_chat_app', MODE_MISMATCH),
  notWorkflowApp: () => fail(400, 'not_workflow_app', MODE_MISMATCH),
  appUnavailable: () => fail(400, 'app_unavailable', DESCRIPTIONS.app_unavailable!),
  notFound: (message: string) => fail(404, 'not_found', message),
  urlNotFound: () => fail(404, 'not_found', DESCRIPTIONS.not_found!),
  methodNotAllowed: () => fail(405, 'method_not_allowed', DESCRIPTIONS.method_not_allowed!),
  coded: (code: string, message?: string) =>
    fail(CODE_STATUS[code] ?? 400, code, message ?? DESCRIPTIONS[code] ?? code),
};

/** The answer to a forced `status=` behaviour: Dify's envelope with a code fitting the status. */
export function forcedError(
  status: number,
  options: { code?: string; message?: string; retryAfter?: number | null; appId: string },
): DifyErrorReply {
  if (status === 502 && options.code === undefined)
    return { status, code: 'bad_gateway', message: 'Bad Gateway', html: BAD_GATEWAY_HTML };
  const code = options.code ?? STATUS_CODE[status] ?? (status >= 500 ? 'internal_server_error' : 'bad_request');
  let message = options.message ?? DESCRIPTIONS[code] ?? `Request failed with status ${status}.`;
  const headers: Record<string, string> = {};
  if (status === 401) Object.assign(headers, WWW_AUTHENTICATE);
  if (code === 'too_many_requests') {
    if (options.message === undefined)
      message = `${DESCRIPTIONS.too_many_requests} The current maximum concurrent requests allowed for ${options.appId} is 10.`;
    const seconds = options.retryAfter === undefined ? 1 : options.retryAfter;
    if (seconds !== null) headers['retry-after'] = String(seconds);
  }
  return { status, code, message, ...(Object.keys(headers).length > 0 ? { headers } : {}) };
}

export interface InBandError {
  status: number;
  code: string;
  message: string;
}

/** The fields of a stream's `error` event: internal_server_error unless a code is given. */
export function inBandError(code?: string, message?: string): InBandError {
  if (code === undefined)
    return {
      status: 500,
      code: 'internal_server_error',
      message: message ?? 'Internal Server Error, please contact support.',
    };
  return { status: CODE_STATUS[code] ?? 400, code, message: message ?? DESCRIPTIONS[code] ?? code };
}
