import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backends } from '#test/helpers/test-app.ts';
import {
  chatBody,
  expectBooksBalanced,
  newCaller,
  startGateway,
  usageRows,
  v1,
  type Gateway,
} from '#test/helpers/gateway.ts';

/**
 * An upstream's usage that is not a count (a decimal, text, a negative or an absurd number) is
 * treated as absent: the call is counted with the tokenizer, its record marked `estimated`, and the
 * client gets its answer; its hold is closed like any other.
 */
const NOT_COUNTS = [
  '{"prompt_tokens":5.5,"completion_tokens":3,"total_tokens":8.5}',
  '{"prompt_tokens":"abc","completion_tokens":3,"total_tokens":3}',
  '{"prompt_tokens":12,"completion_tokens":-3,"total_tokens":9}',
  '{"prompt_tokens":12,"completion_tokens":1e300,"total_tokens":1e300}',
];

describe.each(backends())('usage that is not a count, on $label', (backend) => {
  let g: Gateway;
  beforeAll(async () => {
    g = await startGateway(backend, { env: { RATE_LIMIT_USER_RPM: '0' } });
  });
  afterAll(() => g.close());
  beforeEach(() => g.fake.reset());

  for (const stream of [false, true]) {
    it.each(NOT_COUNTS)(
      `${stream ? 'a stream' : 'a whole answer'} reporting %s is answered, counted and billed once`,
      async (usage) => {
        const c = await newCaller(g);
        const before = await expectBooksBalanced(g, c.user.id);
        const res = await v1(
          g,
          c.secret,
          'POST',
          '/v1/chat/completions',
          chatBody({
            stream,
            ...(stream ? { stream_options: { include_usage: true } } : {}),
            fake_behavior: { text: 'Hello there, nice people', rawUsage: usage },
          }),
        );
        expect(res.statusCode, res.body).toBe(200);
        expect(res.body).toContain(stream ? 'Hello' : 'Hello there, nice people');
        const rows = await usageRows(g, c.user.id);
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({ status: 'ok', usage_source: 'estimated', output_tokens: 5 });
        expect(rows[0]!.input_tokens).toBeGreaterThan(0);
        expect(rows[0]!.credits).toBeGreaterThan(0);
        expect(await expectBooksBalanced(g, c.user.id)).toBe(before - rows[0]!.credits);
      },
    );
  }
});
