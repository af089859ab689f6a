/** OpenAI's error answers (shared/reference/protocols.md §3.2), as FakeOpenAI sends them. */

export interface OpenAIErrorObject {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

export interface ErrorReply {
  status: number;
  /** `{"error": …}` as JSON; absent when `html` is the body (a 502 from the edge proxy). */
  error?: OpenAIErrorObject;
  html?: string;
  headers?: Record<string, string>;
}

export const MESSAGES = {
  noKey:
    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
  quota:
    'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
  server: 'The server had an error while processing your request. Sorry about that!',
  overloaded: 'The engine is currently overloaded, please try again later',
  badJson:
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please visit https://community.openai.com/.)",
} as const;

const error = (
  message: string,
  type: string,
  param: string | null = null,
  code: string | null = null,
): OpenAIErrorObject => ({ message, type, param, code });

/** `sk-abc…wjh3` with the middle starred, as OpenAI echoes a wrong key. */
export function maskKey(key: string): string {
  if (key.length <= 10) return key;
  return `${key.slice(0, 6)}${'*'.repeat(key.length - 10)}${key.slice(-4)}`;
}

export const errors = {
  noKey: (): ErrorReply => ({ status: 401, error: error(MESSAGES.noKey, 'invalid_request_error') }),
  badKey: (key: string): ErrorReply => ({
    status: 401,
    error: error(
      `Incorrect API key provided: ${maskKey(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      'invalid_request_error',
      null,
      'invalid_api_key',
    ),
  }),
  modelNotFound: (model: string): ErrorReply => ({
    status: 404,
    error: error(
      `The model \`${model}\` does not exist or you do not have access to it.`,
      'invalid_request_error',
      null,
      'model_not_found',
    ),
  }),
  badRequest: (message: string, param: string | null = null, code: string | null = null): ErrorReply => ({
    status: 400,
    error: error(message, 'invalid_request_error', param, code),
  }),
  missing: (param: string): ErrorReply =>
    errors.badRequest(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter'),
  invalidUrl: (method: string, path: string): ErrorReply => ({
    status: 404,
    error: error(`Invalid URL (${method} ${path})`, 'invalid_request_error'),
  }),
  badMethod: (method: string, path: string): ErrorReply => ({
    status: 405,
    error: error(`Invalid method for URL (${method} ${path})`, 'invalid_request_error'),
  }),
  /** The in-band error a stream sends as `data: {"error": …}`. */
  inStream: (message?: string, code?: string): OpenAIErrorObject =>
    error(message ?? MESSAGES.server, 'server_error', null, code ?? null),
};

/** The answer to a forced `status=` behaviour, in OpenAI's words for that status. */
export function forcedError(
  status: number,
  options: {
    model: string;
    key: string;
    code?: string;
    message?: string;
    retryAfter?: number | null;
    organization: string;
  },
): ErrorReply {
  const { model, code, message, organization } = options;
  let reply: ErrorReply;
  switch (status) {
    case 400:
      reply = errors.badRequest('Invalid request.');
      break;
    case 401:
      reply = errors.badKey(options.key);
      break;
    case 403:
      reply = {
        status,
        error: error(
          'Country, region, or territory not supported',
          'request_forbidden',
          null,
          'unsupported_country_region_territory',
        ),
      };
      break;
    case 404:
      reply = errors.modelNotFound(model);
      break;
    case 429:
      if (code === 'insufficient_quota') {
        reply = { status, error: error(MESSAGES.quota, 'insufficient_quota', null, 'insufficient_quota') };
      } else {
        const seconds = options.retryAfter === undefined ? 1 : options.retryAfter;
        reply = {
          status,
          error: error(
            `Rate limit reached for ${model} in organization ${organization} on requests per min (RPM): Limit 60, Used 60, Requested 1. Please try again in ${seconds ?? 1}s. Visit https://platform.openai.com/account/rate-limits to learn more.`,
            'requests',
            null,
            'rate_limit_exceeded',
          ),
          headers: {
            'x-ratelimit-remaining-requests': '0',
            'x-ratelimit-reset-requests': `${seconds ?? 1}s`,
            ...(seconds === null ? {} : { 'retry-after': String(seconds) }),
          },
        };
      }
      break;
    case 502:
      reply = {
        status,
        html: '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n',
      };
      break;
    case 503:
      reply = { status, error: error(MESSAGES.overloaded, 'server_error') };
      break;
    default:
      reply = {
        status,
        error: error(
          status >= 500 ? MESSAGES.server : `Request failed with status ${status}.`,
          status >= 500 ? 'server_error' : 'invalid_request_error',
        ),
      };
  }
  if (reply.error) {
    if (message !== undefined) reply.error.message = message;
    if (code !== undefined && !(status === 429 && code === 'insufficient_quota')) reply.error.code = code;
  }
  return reply;
}
