/** The username rules of a derived name: what the register schema allows (1–64 characters, not blank). */
const MAX_LENGTH = 64;

/**
 * The username Tollgate gives an account registered without one (seed 000's README sends none):
 * the email's local part without a `+tag`, reduced to letters, digits, `.`, `_` and `-`, or `user`
 * when nothing is left. Emails are stored lower-cased, so the name is too.
 */
export function usernameFromEmail(email: string): string {
  const local = email.toLowerCase().split('@')[0]!.split('+')[0]!;
  const kept = local.replace(/[^a-z0-9._-]+/g, '').replace(/^[._-]+|[._-]+$/g, '');
  return kept.slice(0, MAX_LENGTH) || 'user';
}

/** `name` for the first, then `name_2`, `name_3`…, cut so the result keeps to the length limit. */
export function withSuffix(name: string, n: number): string {
  if (n <= 1) return name;
  const suffix = `_${n}`;
  return name.slice(0, MAX_LENGTH - suffix.length) + suffix;
}
