import type { Clock } from '#core/clock.ts';
import type { KeyValueStore } from '#core/kv.ts';
import type { WithinCreation } from '#modules/users/users.service.ts';
import type { CreditsService } from './credits.service.ts';

const DAY_MS = 24 * 3600 * 1000;

/**
 * The sign-up bonus (docs/money.md, rule 7): SIGNUP_BONUS credits, once per account, granted in the same
 * transaction that creates it. Against farming, only the first SIGNUP_BONUS_PER_IP_DAILY accounts an
 * IP creates in a (UTC) day get it (0 = no limit); later ones are created with an empty balance.
 */
export class SignupBonus {
  constructor(
    private readonly credits: CreditsService,
    private readonly kv: KeyValueStore,
    private readonly clock: Clock,
    private readonly options: { amount: number; perIpDaily: number },
  ) {}

  async forAccountFrom(ip: string): Promise<WithinCreation> {
    const amount = await this.amountFor(ip);
    return (trx, user) => this.credits.openAccount(trx, user.id, amount);
  }

  private async amountFor(ip: string): Promise<number> {
    if (this.options.amount === 0 || this.options.perIpDaily === 0) return this.options.amount;
    const day = new Date(this.clock.now()).toISOString().slice(0, 10);
    const count = await this.kv.increment(`signup:day:${day}:ip:${ip}`, DAY_MS + 3600_000);
    return count <= this.options.perIpDaily ? this.options.amount : 0;
  }
}
