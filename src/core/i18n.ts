import type { FastifyRequest } from 'fastify';

/** Chinese as the seeds write it; English when the client prefers it. Errors live in errors.ts. */
export type Lang = 'zh' | 'en';

const MESSAGES = {
  CODE_SENT: { zh: '验证码已发送到您的邮箱', en: 'The verification code has been sent to your email' },
  PASSWORD_RESET: { zh: '密码重置成功', en: 'The password has been reset' },
  CAPTCHA_OK: { zh: '验证码验证成功', en: 'Captcha verified' },
  LOGGED_OUT: { zh: '已退出登录', en: 'Signed out' },
  CHECKED_IN: {
    zh: '签到成功，获得 {credits} 积分，已连续签到 {days} 天',
    en: 'Checked in: +{credits} credits, day {days} in a row',
  },
  REDEEMED: { zh: '兑换成功，获得 {credits} 积分', en: 'Redeemed: +{credits} credits' },
  REDEEMED_PLAN: {
    zh: '兑换成功，已开通「{plan}」，获得 {credits} 积分',
    en: 'Redeemed: the plan "{plan}" is active, +{credits} credits',
  },
  CONVERSATION_DELETED: { zh: '会话已删除', en: 'The conversation has been deleted' },
  CONVERSATION_RENAMED: { zh: '会话已重命名', en: 'The conversation has been renamed' },
  FEEDBACK_SAVED: { zh: '反馈已提交', en: 'Feedback saved' },
  TASK_STOPPED: { zh: '已停止响应', en: 'The response has been stopped' },
} as const;

export type MessageKey = keyof typeof MESSAGES;

export function message(lang: Lang, key: MessageKey, params: Record<string, string | number> = {}): string {
  return fill(MESSAGES[key][lang], params);
}

/** Replaces each `{name}` with `params.name`. */
export function fill(template: string, params: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => String(params[key] ?? ''));
}

/** English only when the client prefers it over Chinese; the seeds speak Chinese. */
export function pickLang(acceptLanguage: string | undefined): Lang {
  if (!acceptLanguage) return 'zh';
  let best: { lang: Lang; q: number } | undefined;
  for (const part of acceptLanguage.split(',')) {
    const [tag = '', ...rest] = part.trim().toLowerCase().split(';');
    const q = Number(rest.find((p) => p.trim().startsWith('q='))?.split('=')[1] ?? 1);
    const lang: Lang | undefined = tag.startsWith('en') ? 'en' : tag.startsWith('zh') ? 'zh' : undefined;
    if (lang && Number.isFinite(q) && (!best || q > best.q)) best = { lang, q };
  }
  return best?.lang ?? 'zh';
}

export function langOf(request: FastifyRequest): Lang {
  return pickLang(request.headers['accept-language']);
}
