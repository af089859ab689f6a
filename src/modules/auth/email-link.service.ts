import { AppError } from '#core/errors.ts';
import type { AccountIdentities } from '#modules/users/identities.service.ts';
import { normalizeEmail, type UsersService } from '#modules/users/users.service.ts';
import type { UserRow } from '#modules/users/users.tables.ts';
import type { EmailCodeService } from './email-code.service.ts';
import { assertStrongPassword } from './password-policy.ts';

/**
 * A signed-in account without an email (a WeChat account) adds one with a password, proven by a code
 * mailed to it: the sign-up code of POST /api/auth/send-code, which is sent only to an email no account
 * has. It can then sign in at /api/auth/login (the web console) too. docs/seed-003.md, linking.
 */
export class EmailLinking {
  constructor(
    private readonly users: UsersService,
    private readonly identities: AccountIdentities,
    private readonly codes: EmailCodeService,
  ) {}

  async link(userId: string, input: { email: string; code: string; password: string }): Promise<UserRow> {
    const email = normalizeEmail(input.email);
    assertStrongPassword(input.password);
    const user = await this.users.require(userId);
    if (user.email !== null) throw new AppError('ACCOUNT_HAS_EMAIL');
    if (await this.users.isRegistered(email)) throw new AppError('EMAIL_ALREADY_REGISTERED');
    await this.codes.consume(email, 'register', input.code);
    await this.identities.linkEmail(userId, email, input.password);
    return this.users.require(userId);
  }

  /** Only while the account keeps its WeChat identity. */
  async unlink(userId: string): Promise<UserRow> {
    await this.identities.unlinkEmail(await this.users.require(userId));
    return this.users.require(userId);
  }
}
