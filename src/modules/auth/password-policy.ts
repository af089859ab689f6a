import { AppError } from '#core/errors.ts';

/** Seed 001: 8-50 characters with at least one upper-case letter, one lower-case letter and one digit. */
export function assertStrongPassword(password: string): void {
  const ok =
    password.length >= 8 &&
    password.length <= 50 &&
    /[A-Z]/.test(password) &&
    /[a-z]/.test(password) &&
    /\d/.test(password);
  if (!ok) throw new AppError('WEAK_PASSWORD');
}
