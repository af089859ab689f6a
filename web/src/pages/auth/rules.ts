import type { Rule } from 'antd/es/form/index.js';
import type { Translate } from '@/i18n/index.tsx';

export const emailRules = (t: Translate): Rule[] => [
  { required: true, message: t('required') },
  { type: 'email', message: t('invalidEmail') },
];

/** The server's password policy (8-50, upper, lower, digit), checked before sending. */
export const passwordRules = (t: Translate): Rule[] => [
  { required: true, message: t('required') },
  { pattern: /^(?=.*[a-z])(?=.*[A-Z])(?=.*\d).{8,50}$/, message: t('passwordRule') },
];
