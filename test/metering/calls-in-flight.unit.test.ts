import { describe, expect, it } from 'vitest';
import { CallsInFlight } from '#modules/metering/calls-in-flight.ts';

function call() {
  const made = { cuts: 0, cut: () => (made.cuts += 1) };
  return made;
}

describe('CallsInFlight: the paid calls running, for a graceful shutdown', () => {
  it('counts calls until they end, and is back at zero (settled) once every call has ended, however many came and went', async () => {
    const registry = new CallsInFlight();
    const running: Array<() => void> = [];
    for (let i = 0; i < 10_000; i++) {
      running.push(registry.add(call()));
      if (running.length === 32) running.splice(i % 32, 1)[0]!();
    }
    expect(registry.count).toBe(31);
    let settled = false;
    void registry.settled().then(() => (settled = true));
    for (const ended of running.splice(0)) ended();
    await Promise.resolve();
    expect(registry.count).toBe(0);
    expect(settled).toBe(true);
  });

  it('cuts the calls still running, once each, and none that has ended', () => {
    const registry = new CallsInFlight();
    const calls = Array.from({ length: 6 }, call);
    const ends = calls.map((c) => registry.add(c));
    ends[1]!();
    ends[4]!();
    registry.add(calls[4]!); // a slot freed is reused
    registry.cutAll();
    expect(calls.map((c) => c.cuts)).toEqual([1, 0, 1, 1, 1, 1]);
  });

  it('an end said twice counts once', () => {
    const registry = new CallsInFlight();
    const first = registry.add(call());
    registry.add(call());
    first();
    first();
    expect(registry.count).toBe(1);
  });
});
