import dayjs from 'dayjs';

export const dateTime = (iso: string | null | undefined): string => (iso ? dayjs(iso).format('YYYY-MM-DD HH:mm') : '—');
export const date = (iso: string | null | undefined): string => (iso ? dayjs(iso).format('YYYY-MM-DD') : '—');
export const number = (n: number): string => n.toLocaleString();

/** Minor units (fen, cents) as money: `¥29.90`. */
export function money(minor: number, currency = 'CNY'): string {
  const symbol = currency === 'CNY' ? '¥' : currency === 'USD' ? '$' : `${currency} `;
  return `${symbol}${(minor / 100).toFixed(2)}`;
}
