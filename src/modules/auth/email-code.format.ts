import { randomDigits } from '#core/crypto.ts';

const EMAIL_CODE_LENGTH = 6;

/** An email code as a client sends it back: exactly six ASCII digits (seed 001). */
export const EMAIL_CODE_PATTERN = `^[0-9]{${EMAIL_CODE_LENGTH}}$`;

/** A new email code: six random digits, leading zeros kept (`004217`). */
export function newEmailCode(): string {
  return randomDigits(EMAIL_CODE_LENGTH);
}
