import { describe, expect, it } from 'vitest';
import { AppError } from '#core/errors.ts';
import { EMAIL_CODE_PATTERN, newEmailCode } from '#modules/auth/email-code.format.ts';
import { assertStrongPassword } from '#modules/auth/password-policy.ts';

describe('email verification codes', () => {
  const format = new RegExp(EMAIL_CODE_PATTERN);

  it('are six digits, leading zeros kept', () => {
    const codes = Array.from({ length: 2_000 }, newEmailCode);
    for (const code of codes) expect(code).toMatch(/^\d{6}$/);
    // 2,000 codes of a million: one in ten starts with a zero, so one surely does.
    expect(codes.some((code) => code.startsWith('0'))).toBe(true);
  });

  it.each([
    { code: '123456', accepted: true },
    { code: '000000', accepted: true },
    { code: '12345', accepted: false },
    { code: '1234567', accepted: false },
    { code: '12a456', accepted: false },
    { code: ' 123456', accepted: false },
    { code: '123456\n', accepted: false },
    { code: '１２３４５６', accepted: false },
    { code: '', accepted: false },
  ])('"$code" is accepted as a code: $accepted', ({ code, accepted }) => {
    expect(format.test(code)).toBe(accepted);
  });
});

describe('the password policy (seed 001): 8-50 characters, an upper-case letter, a lower-case letter, a digit', () => {
  const weak = (password: string) => {
    try {
      assertStrongPassword(password);
      return false;
    } catch (error) {
      if (error instanceof AppError && error.code === 'WEAK_PASSWORD') return true;
      throw error;
    }
  };

  it.each([
    { case: 'the shortest strong one (8)', password: 'Abcdefg1', strong: true },
    { case: 'the longest strong one (50)', password: 'Aa1' + 'x'.repeat(47), strong: true },
    { case: 'with symbols and spaces', password: 'Correct horse 9!', strong: true },
    { case: 'with letters beyond ASCII', password: 'Pässw0rdé', strong: true },
    { case: 'one short (7)', password: 'Abcdef1', strong: false },
    { case: 'one long (51)', password: 'Aa1' + 'x'.repeat(48), strong: false },
    { case: 'no upper-case letter', password: 'abcdefg1', strong: false },
    { case: 'no lower-case letter', password: 'ABCDEFG1', strong: false },
    { case: 'no digit', password: 'Abcdefgh', strong: false },
    { case: 'only non-ASCII letters and a digit', password: 'ÄÖÜäöüß1', strong: false },
    { case: 'empty', password: '', strong: false },
  ])('$case → strong: $strong', ({ password, strong }) => {
    expect(weak(password)).toBe(!strong);
  });
});
