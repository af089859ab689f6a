import type { ErrorCode } from '#core/errors.ts';
import type { FieldViolation } from './validation.ts';

/** OpenAI's `{error:{type, code, param}}` for each of our codes (docs/gateway.md, Errors). */
const OPENAI: Partial<Record<ErrorCode, { type: string; code: string | null; param?: string }>> = {
  API_KEY_MISSING: { type: 'invalid_request_error', code: null },
  INVALID_API_KEY: { type: 'invalid_request_error', code: 'invalid_api_key' },
  API_KEY_DISABLED: { type: 'invalid_request_error', code: 'invalid_api_key' },
  API_KEY_EXPIRED: { type: 'invalid_request_error', code: 'invalid_api_key' },
  API_KEY_IP_DENIED: { type: 'invalid_request_error', code: 'ip_not_allowed' },
  ACCOUNT_DISABLED: { type: 'invalid_request_error', code: 'account_deactivated' },
  INSUFFICIENT_CREDITS: { type: 'insufficient_quota', code: 'insufficient_quota' },
  KEY_CREDIT_CAP: { type: 'insufficient_quota', code: 'insufficient_quota' },
  MODEL_NOT_FOUND: { type: 'invalid_request_error', code: 'model_not_found', param: 'model' },
  MODEL_NOT_PRICED: { type: 'invalid_request_error', code: 'model_not_priced', param: 'model' },
  RATE_LIMITED: { type: 'requests', code: 'rate_limit_exceeded' },
  API_KEY_GUESSING: { type: 'requests', code: 'rate_limit_exceeded' },
  PLAN_ALLOWANCE_EXCEEDED: { type: 'requests', code: 'plan_allowance_exceeded' },
  PLAN_CREDITS_ALLOWANCE_EXCEEDED: { type: 'insufficient_quota', code: 'plan_allowance_exceeded' },
  PLAN_MODEL_NOT_ALLOWED: { type: 'invalid_request_error', code: 'model_not_allowed', param: 'model' },
  SERVICE_UNAVAILABLE: { type: 'server_error', code: null },
  UPSTREAM_UNAVAILABLE: { type: 'server_error', code: null },
  UPSTREAM_ERROR: { type: 'server_error', code: null },
};

/** `field`: a body field that broke the route's schema, whose `param` and `code` OpenAI would give. */
export function openAiError(
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown>,
  field?: FieldViolation,
) {
  const known = OPENAI[code as ErrorCode];
  const type =
    code === 'RATE_LIMITED' && typeof extra.limitType === 'string'
      ? extra.limitType
      : (known?.type ?? (status >= 500 ? 'server_error' : 'invalid_request_error'));
  if (field) return { error: { message, type, param: field.param, code: field.code } };
  return { error: { message, type, param: known?.param ?? null, code: known?.code ?? null } };
}
