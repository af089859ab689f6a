import { randomInt } from 'node:crypto';
import { sha256Hex } from '#core/crypto.ts';

// Crockford base32: no I, L, O or U, so a code read aloud or typed from paper survives.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const GROUPS = 4;
const GROUP_LENGTH = 4;
const PREFIX = 'TG';

/** `TG-XXXX-XXXX-XXXX-XXXX`: 16 random base32 characters, 80 bits. */
export function generateCode(): string {
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    let group = '';
    for (let i = 0; i < GROUP_LENGTH; i++) group += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(group);
  }
  return `${PREFIX}-${groups.join('-')}`;
}

/** Case, spaces and dashes do not matter; O reads as 0 and I/L as 1; the `TG-` prefix may be left off. */
export function normalizeCode(input: string): string {
  const text = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  // By length alone: the 16 characters of a code typed without its prefix (they may begin with TG too).
  return text.length === GROUPS * GROUP_LENGTH ? PREFIX + text : text;
}

export function hashCode(input: string): string {
  return sha256Hex(normalizeCode(input));
}
