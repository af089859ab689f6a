import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '#test/helpers/test-app.ts';
import { chatBody, newCaller, startGateway, v1, type Gateway } from '#test/helpers/gateway.ts';

/**
 * A change to an account reaches its API keys at once, though they are cached: on one instance with
 * or without Redis (test/gateway/instances.test.ts covers several instances sharing Redis).
 */
describe.each(backends())('account changes and API keys on $label', (backend) => {
  let g: Gateway;
  beforeAll(async () => {
    g = await startGateway(backend, {
      env: { RATE_LIMIT_USER_RPM: '1', RATE_LIMIT_ADMIN_RPM: '0', RATE_LIMIT_USER_CONCURRENCY: '0' },
    });
  });
  afterAll(() => g.close());

  const models = (secret: string) => v1(g, secret, 'GET', '/v1/models');
  const chat = (secret: string) =>
    v1(g, secret, 'POST', '/v1/chat/completions', chatBody({ fake_behavior: 'usage=100,100' }));

  it("a disabled user's key is refused on the next call, and works again when the account is enabled", async () => {
    const c = await newCaller(g);
    expect((await models(c.secret)).statusCode).toBe(200); // now cached
    await g.t.app.services.users.change(c.user.id, { status: 'disabled' });
    const refused = await models(c.secret);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ error: { code: 'account_deactivated' } });
    await g.t.app.services.users.change(c.user.id, { status: 'active' });
    expect((await models(c.secret)).statusCode).toBe(200);
  });

  it("a deleted user's key is refused on the next call", async () => {
    const c = await newCaller(g);
    expect((await models(c.secret)).statusCode).toBe(200);
    await g.t.app.services.userAdmin.remove(c.user.id);
    const refused = await models(c.secret);
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ error: { code: 'invalid_api_key' } });
  });

  it("a user's new role applies to the next call made with a key (here: the admin's rate limits)", async () => {
    const c = await newCaller(g);
    expect((await chat(c.secret)).statusCode).toBe(200);
    expect((await chat(c.secret)).statusCode).toBe(429); // a user's one call a minute
    await g.t.app.services.users.change(c.user.id, { role: 'admin' });
    expect((await chat(c.secret)).statusCode).toBe(200); // an admin's calls are not limited
  });
});
