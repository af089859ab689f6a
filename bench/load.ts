/**
 * One load of chat calls with autocannon, shared by `npm run bench` and `npm run bench:instructions`:
 * for a time (`seconds`) or a number of calls (`amount`), at `connections` at a time, whole or streamed.
 */
import autocannon from 'autocannon';

export const BENCH_BODY = {
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Say hello to the benchmark in a few words please' }],
};

export interface Measured {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** What the errors were: HTTP statuses other than 2xx, connection errors, timeouts (e.g. "503×2"). */
  errorKinds: Record<string, number>;
  ok: number;
  /** Every answered call's latency, ms (autocannon's own percentiles are whole milliseconds). */
  latencies: number[];
}

/** The value below which `share` of the sorted values lie. */
export function percentile(sorted: number[], share: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * share))]!;
}

export async function load(
  url: string,
  apiKey: string,
  stream: boolean,
  connections: number,
  limit: { seconds: number } | { amount: number },
): Promise<Measured> {
  const latencies: number[] = [];
  let run!: autocannon.Instance;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    run = autocannon(
      {
        url: `${url}/v1/chat/completions`,
        method: 'POST',
        connections,
        ...('seconds' in limit ? { duration: limit.seconds } : { amount: limit.amount, timeout: 120 }),
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...BENCH_BODY, stream }),
      },
      (error: unknown, result: autocannon.Result) =>
        error ? reject(error instanceof Error ? error : new Error('autocannon failed')) : resolve(result),
    );
  });
  // autocannon times each call to the microsecond but keeps whole milliseconds in its histogram.
  run.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const result = await finished;
  latencies.sort((a, b) => a - b);
  return {
    rps: Math.round(result.requests.average),
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    errors: result.errors + result.timeouts + result.non2xx,
    errorKinds: {
      ...Object.fromEntries(
        Object.entries(result.statusCodeStats ?? {})
          .filter(([code]) => !code.startsWith('2'))
          .map(([code, { count }]) => [code, count ?? 0]),
      ),
      ...(result.errors > 0 ? { 'connection error': result.errors } : {}),
      ...(result.timeouts > 0 ? { timeout: result.timeouts } : {}),
    },
    ok: result['2xx'],
    latencies,
  };
}
