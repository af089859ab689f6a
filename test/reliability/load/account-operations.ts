import { createKey, type LoadKey } from '#test/reliability/support/accounts.ts';
import { checkAnswer, pick, type LoadContext, type Operation } from './operation.ts';

/** Check-in, raced by the same user on every instance: one success per user and day. */
export const checkIn: Operation = {
  name: 'check-in',
  weight: 1,
  async run(ctx, instance) {
    const user = pick(ctx.users);
    const answer = await ctx.cluster.http.send(ctx.cluster.url(instance), 'POST', '/api/checkin', {
      token: user.accessToken,
    });
    if (checkAnswer(ctx, this.name, answer, [200, 409]) && answer.status === 200)
      ctx.log.checkins.set(user.id, (ctx.log.checkins.get(user.id) ?? 0) + 1);
  },
};

/** A redeem code, raced by every user on every instance: at most `maxUses` users, each once. */
export const redeem: Operation = {
  name: 'redeem',
  weight: 2,
  async run(ctx, instance) {
    const user = pick(ctx.users);
    const code = pick(ctx.codes);
    // Typed the forgiving way a person might: lower case, spaces for dashes.
    const typed = Math.random() < 0.3 ? code.code.toLowerCase().replace(/-/g, ' ') : code.code;
    const answer = await ctx.cluster.http.send(ctx.cluster.url(instance), 'POST', '/api/credits/redeem', {
      token: user.accessToken,
      body: { code: typed },
    });
    if (checkAnswer(ctx, this.name, answer, [200, 400, 409]) && answer.status === 200) {
      ctx.log.redeemed.set(code.id, (ctx.log.redeemed.get(code.id) ?? 0) + 1);
      const pair = `${code.id}/${user.id}`;
      ctx.log.redeemedBy.set(pair, (ctx.log.redeemedBy.get(pair) ?? 0) + 1);
    }
  },
};

async function changeKey(
  ctx: LoadContext,
  instance: number,
  key: LoadKey,
  token: string,
  to: 'active' | 'disabled' | 'deleted',
): Promise<void> {
  key.changing = true;
  const url = ctx.cluster.url(instance);
  const answer =
    to === 'deleted'
      ? await ctx.cluster.http.send(url, 'DELETE', `/api/keys/${key.id}`, { token })
      : await ctx.cluster.http.send(url, 'PATCH', `/api/keys/${key.id}`, { token, body: { enabled: to === 'active' } });
  if (checkAnswer(ctx, 'key change', answer, [200, 204])) {
    key.state = to;
    key.changedAt = Date.now();
    key.changing = false;
  }
  // A change that failed leaves the key `changing`: its state is unknown, so no call is judged by it.
}

/**
 * Key changes made on one instance while the others serve the key: disable, enable, delete, create.
 * A user's first key never changes, so every user can always make calls.
 */
export const keyChange: Operation = {
  name: 'key change',
  weight: 1,
  async run(ctx, instance) {
    const user = pick(ctx.users);
    const churn = user.keys.slice(1).filter((k) => k.state !== 'deleted' && !k.changing);
    if (churn.length < 2 && Math.random() < 0.5) {
      await createKey(ctx.cluster, user, { name: 'churn' }, instance);
      ctx.log.count(this.name, '201');
      return;
    }
    if (churn.length === 0) return;
    const key = pick(churn);
    const to = key.state === 'active' ? 'disabled' : Math.random() < 0.7 ? 'active' : 'deleted';
    await changeKey(ctx, instance, key, user.accessToken, to);
  },
};
