import { verifyPassword } from '#core/crypto.ts';
import { AppError } from '#core/errors.ts';
import type { Lang } from '#core/i18n.ts';
import { normalizeEmail, type UsersService, type WithinCreation } from '#modules/users/users.service.ts';
import type { UserRow } from '#modules/users/users.tables.ts';
import type { EmailCodeService } from './email-code.service.ts';
import type { CaptchaAnswer, LoginGuard, LoginStatus } from './login-guard.ts';
import { assertStrongPassword } from './password-policy.ts';
import type { ClientInfo, IssuedTokens, TokenService } from './token.service.ts';

export interface RegisterInput {
  email: string;
  password: string;
  /** Absent: made up from the email. */
  username?: string;
  code: string;
}

export interface LoginInput extends CaptchaAnswer {
  email: string;
  password: string;
}

export interface SignedIn {
  user: UserRow;
  tokens: IssuedTokens;
}

// Verified against when the email is unknown, so a miss costs the same time as a wrong password.
const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$G2rmAiZBdhVYSKGpDBIskg$VIRMGeTKhTeNEcKLGVTRZigD9SXsUaXcF+io6fJ92HA';

export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly tokens: TokenService,
    private readonly codes: EmailCodeService,
    private readonly guard: LoginGuard,
    /** What else happens when a user signs up (the credit account and its bonus), in the same transaction. */
    private readonly onSignUp: (ip: string) => Promise<WithinCreation>,
  ) {}

  /** Seed 001 §1.1: a sign-up code, only for an email that has no account. */
  async sendRegisterCode(rawEmail: string, client: ClientInfo, lang: Lang): Promise<void> {
    const email = normalizeEmail(rawEmail);
    if (await this.users.isRegistered(email)) throw new AppError('EMAIL_ALREADY_REGISTERED');
    await this.codes.send(email, 'register', client.ip, lang);
  }

  /** Seed 001 §1.2. Input is checked before the code is spent; the unique email index decides races. */
  async register(input: RegisterInput, client: ClientInfo): Promise<SignedIn> {
    const email = normalizeEmail(input.email);
    assertStrongPassword(input.password);
    if (await this.users.isRegistered(email)) throw new AppError('EMAIL_ALREADY_REGISTERED');
    await this.codes.consume(email, 'register', input.code);
    const user = await this.users.create(
      { email, password: input.password, username: input.username },
      await this.onSignUp(client.ip),
    );
    return { user, tokens: await this.tokens.startSession(user, client) };
  }

  /** Seed 001 §1.3 with the captcha and lock rules of its closing section. */
  async login(input: LoginInput, client: ClientInfo): Promise<SignedIn> {
    const email = normalizeEmail(input.email);
    const attempt = await this.guard.beginAttempt(email, client.ip, input);
    const user = await this.users.findByEmail(email);
    const passwordOk = await verifyPassword(user?.password_hash ?? DUMMY_HASH, input.password);
    if (!user || !passwordOk) return this.guard.failed(email, attempt);
    if (user.status !== 'active') throw new AppError('ACCOUNT_DISABLED');
    await this.guard.succeeded(email, client.ip);
    return { user, tokens: await this.tokens.startSession(user, client) };
  }

  userOf(userId: string): Promise<UserRow> {
    return this.users.require(userId);
  }

  loginStatus(rawEmail: string | undefined, ip: string): Promise<LoginStatus> {
    return this.guard.status(rawEmail === undefined ? undefined : normalizeEmail(rawEmail), ip);
  }

  /** Seed 001 §1.4: a reset code, only for a registered email. */
  async sendResetCode(rawEmail: string, client: ClientInfo, lang: Lang): Promise<void> {
    const email = normalizeEmail(rawEmail);
    if (!(await this.users.isRegistered(email))) throw new AppError('EMAIL_NOT_REGISTERED');
    await this.codes.send(email, 'reset', client.ip, lang);
  }

  /** Seed 001 §1.5. Ends every session of the account and lifts a login lock. */
  async resetPassword(input: { email: string; code: string; newPassword: string }): Promise<void> {
    const email = normalizeEmail(input.email);
    assertStrongPassword(input.newPassword);
    const user = await this.users.findByEmail(email);
    if (!user) throw new AppError('EMAIL_NOT_REGISTERED');
    await this.codes.consume(email, 'reset', input.code);
    await this.users.setPassword(user.id, input.newPassword);
    await this.tokens.endAllSessions(user.id, 'password_reset');
    await this.guard.clear(email);
  }
}
