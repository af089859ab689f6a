import { describe, expect, it } from 'vitest';
import { generateCode, hashCode, normalizeCode } from '#modules/redeem/redeem.codes.ts';

/** `TG-` and four groups of four Crockford base32 characters (no I, L, O or U). */
const CODE = /^TG(-[0-9ABCDEFGHJKMNPQRSTVWXYZ]{4}){4}$/;

describe('redeem codes', () => {
  it('are TG-XXXX-XXXX-XXXX-XXXX in Crockford base32, never the same twice', () => {
    const codes = Array.from({ length: 500 }, generateCode);
    for (const code of codes) expect(code).toMatch(CODE);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it.each([
    { case: 'as printed', typed: 'TG-ABCD-EFGH-JKMN-PQRS', code: 'TGABCDEFGHJKMNPQRS' },
    { case: 'in lower case', typed: 'tg-abcd-efgh-jkmn-pqrs', code: 'TGABCDEFGHJKMNPQRS' },
    { case: 'with spaces instead of dashes', typed: 'TG ABCD EFGH JKMN PQRS', code: 'TGABCDEFGHJKMNPQRS' },
    { case: 'with a tab and stray dashes', typed: '\tTG--ABCD-EFGH-JKMN-PQRS ', code: 'TGABCDEFGHJKMNPQRS' },
    { case: 'without the TG- prefix', typed: 'ABCD-EFGH-JKMN-PQRS', code: 'TGABCDEFGHJKMNPQRS' },
    { case: 'O read as 0, I and L as 1', typed: 'TG-OOOO-IIII-LLLL-0000', code: 'TG0000111111110000' },
    { case: 'without its prefix, beginning with TG itself', typed: 'TGAB-CDEF-GHJK-MNPQ', code: 'TGTGABCDEFGHJKMNPQ' },
    { case: 'too short is left as typed', typed: 'abc', code: 'ABC' },
  ])('$case: "$typed" → $code', ({ typed, code }) => {
    expect(normalizeCode(typed)).toBe(code);
  });

  it.each([
    ['TG-ABCD-EFGH-JKMN-PQRS', 'tg abcd efgh jkmn pqrs'],
    ['TG-ABCD-EFGH-JKMN-PQRS', 'abcdefghjkmnpqrs'],
    ['TG-0000-1111-2222-3333', 'TG-OOOO-IIII-2222-3333'],
  ])('"%s" and "%s" are the same code (same stored hash)', (a, b) => {
    expect(hashCode(a)).toBe(hashCode(b));
  });

  it.each([
    ['TG-ABCD-EFGH-JKMN-PQRS', 'TG-ABCD-EFGH-JKMN-PQRT'],
    ['TG-ABCD-EFGH-JKMN-PQRS', 'ABCD-EFGH-JKMN-PQR'],
  ])('"%s" and "%s" are different codes', (a, b) => {
    expect(hashCode(a)).not.toBe(hashCode(b));
  });
});
