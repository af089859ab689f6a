import { randomBytes } from 'node:crypto';

/**
 * Every secret a run hands to Tollgate or gets from it (passwords, API keys, session tokens, redeem
 * codes, the channel's upstream key, JWT_SECRET, MASTER_KEY), so logs and answers can be searched for
 * them. A secret is searched for whole and by a fragment from its middle, which catches a secret
 * logged trimmed or re-encoded around the edges but never matches a preview such as `sk-AbCd…wxyz`.
 */
export class SecretBook {
  private readonly entries = new Map<string, string>();

  add(label: string, value: string): void {
    if (value.length >= 8) this.entries.set(value, label);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The labels of the secrets that appear in `text`, leaving out the `allowed` values (an answer that issues them). */
  foundIn(text: string, allowed: readonly string[] = []): string[] {
    const found: string[] = [];
    for (const [secret, label] of this.entries) {
      if (allowed.includes(secret)) continue;
      // From the random tail: JWTs share their header, keys their `sk-` start, and previews show the last 4.
      const fragment = secret.length >= 28 ? secret.slice(-20, -4) : secret;
      if (text.includes(secret) || text.includes(fragment)) found.push(label);
    }
    return found;
  }
}

const random = (bytes: number) => randomBytes(bytes).toString('hex');

/** The fixed secrets of one run: shared by the cluster's instances, fresh for every run. */
export const SECRETS_OF_THE_RUN = {
  jwtSecret: `rel-jwt-${random(24)}`,
  masterKey: random(32),
  channelSecret: `sk-upstream-rel-${random(16)}`,
  book(): SecretBook {
    const book = new SecretBook();
    book.add('JWT_SECRET', this.jwtSecret);
    book.add('MASTER_KEY', this.masterKey);
    book.add('channel secret (OPENAI_API_KEY)', this.channelSecret);
    return book;
  },
};
