import { randomInt } from 'node:crypto';
import { sha256Hex } from '#core/crypto.ts';

// Crockford base32: no I, L, O or U, so a code read aloud or typed from paper survives.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const GROUPS = 4;
const GROUP_LENGTH = 4;

/** `TG-XXXX-XXXX-XXXX-XXXX`: 16 random base32 characters, 80 bits. */
export function generateCode(): string {
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    let group = '';
    for (let i = 0; i < GROUP_LENGTH; i++) group += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(group);
  }
  return `TG-${groups.join('-')}`;
}

/** Case, spaces and dashes do not matter; O reads as 0 and I/L as 1. */
export function normalizeCode(input: string): string {
  return input
    .toUpperCase()
    .replace(/[\s-]/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
}

export function hashCode(input: string): string {
  return sha256Hex(normalizeCode(input));
}
