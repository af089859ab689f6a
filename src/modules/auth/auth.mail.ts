import type { MailMessage } from '#core/mailer.ts';
import type { Lang } from '#core/i18n.ts';

export type CodePurpose = 'register' | 'reset';

const TEXT = {
  zh: {
    register: { subject: 'Tollgate 注册验证码', action: '注册账户' },
    reset: { subject: 'Tollgate 密码重置验证码', action: '重置密码' },
    body: (action: string, code: string, minutes: number) =>
      `您正在${action}，验证码为：${code}\n验证码 ${minutes} 分钟内有效，仅可使用一次。如非本人操作，请忽略此邮件。`,
  },
  en: {
    register: { subject: 'Your Tollgate sign-up code', action: 'create an account' },
    reset: { subject: 'Your Tollgate password reset code', action: 'reset your password' },
    body: (action: string, code: string, minutes: number) =>
      `Use this code to ${action}: ${code}\nIt is valid for ${minutes} minutes and works once. If this was not you, ignore this email.`,
  },
} as const;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The verification-code email, in the language the request asked for. */
export function codeEmail(lang: Lang, purpose: CodePurpose, to: string, code: string, minutes: number): MailMessage {
  const t = TEXT[lang];
  const text = t.body(t[purpose].action, code, minutes);
  const html =
    `<div style="font-family:sans-serif;font-size:15px">` +
    text
      .split('\n')
      .map(
        (line) =>
          `<p>${escapeHtml(line).replace(code, `<strong style="font-size:22px;letter-spacing:4px">${code}</strong>`)}</p>`,
      )
      .join('') +
    `</div>`;
  return { to, subject: t[purpose].subject, text, html };
}
