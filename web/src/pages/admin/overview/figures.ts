import { number } from '@/format.ts';

/** Failed calls as a share of all calls, `12.5%`; a dash without calls. */
export const errorRate = (errors: number, calls: number): string =>
  calls === 0 ? '—' : `${((errors / calls) * 100).toFixed(1)}%`;

/** A latency in milliseconds; a dash for a day without calls. */
export const ms = (value: number | null): string => (value === null ? '—' : `${number(value)} ms`);
