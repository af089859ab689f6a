import { AppError } from '#core/errors.ts';
import { WeChatApiError, WeChatUnreachableError } from './wechat.client.ts';

/** WeChat's access-token errors (protocols.md §1.2): the token is refreshed once and the call retried. */
export const TOKEN_REJECTED = new Set([40001, 42001]);

/** Seconds a client is told to wait: a minute for WeChat's per-minute quota (45011), a moment when it is busy (-1). */
const RETRY_AFTER: Record<number, number> = { [-1]: 2, 45011: 60 };

/**
 * What a WeChat failure means to the client (docs/seed-003.md, errors): a bad code is the client's
 * (400, call wx.login again), a busy or rate-limiting WeChat is 503 with Retry-After, WeChat out of
 * reach or refusing Tollgate's credentials is 503 (and logged: an operator must act), never a 500.
 * `codeError` names the code in question (the login code, or the phone-number code).
 */
export function mapWeChatError(
  error: unknown,
  codeError: 'WECHAT_CODE_INVALID' | 'PHONE_CODE_INVALID',
  log: (message: string, error: unknown) => void,
): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof WeChatApiError) {
    switch (error.errcode) {
      case 40029:
      case 40163:
        return new AppError(codeError);
      case 40226:
        return new AppError('WECHAT_LOGIN_BLOCKED');
      case -1:
      case 45011: {
        const seconds = RETRY_AFTER[error.errcode]!;
        return new AppError('WECHAT_BUSY', { seconds }, {}, seconds);
      }
      default:
        log(`WeChat refused the call (errcode ${error.errcode}): check WECHAT_APPID and WECHAT_SECRET`, error);
        return new AppError('WECHAT_UNAVAILABLE', {}, {}, 30);
    }
  }
  if (error instanceof WeChatUnreachableError) {
    log('WeChat unreachable', error);
    return new AppError('WECHAT_UNAVAILABLE', {}, {}, 5);
  }
  throw error;
}
