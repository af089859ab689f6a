import dayjs, { type Dayjs } from 'dayjs';

export const dateTime = (iso: string | null | undefined): string => (iso ? dayjs(iso).format('YYYY-MM-DD HH:mm') : '—');
export const date = (iso: string | null | undefined): string => (iso ? dayjs(iso).format('YYYY-MM-DD') : '—');
export const number = (n: number): string => n.toLocaleString();

/** A range of whole days picked in a form, as the API's `from` (inclusive) and `to` (exclusive) moments. */
export const dayRange = (range: [Dayjs, Dayjs] | null | undefined) => ({
  from: range?.[0].startOf('day').toISOString(),
  to: range?.[1].add(1, 'day').startOf('day').toISOString(),
});

/** Minor units (fen, cents) as money: `¥29.90`. */
export function money(minor: number, currency = 'CNY'): string {
  const symbol = currency === 'CNY' ? '¥' : currency === 'USD' ? '$' : `${currency} `;
  return `${symbol}${(minor / 100).toFixed(2)}`;
}
