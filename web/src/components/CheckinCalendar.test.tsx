import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import dayjs from 'dayjs';
import { describe, expect, it } from 'vitest';
import { I18nProvider, type Lang } from '@/i18n/index.tsx';
import { CheckinCalendar, monthGrid } from './CheckinCalendar.tsx';

const show = (checked: string[], today: string, lang: Lang = 'en') =>
  render(
    <I18nProvider lang={lang}>
      <CheckinCalendar checkedDates={new Set(checked)} today={today} />
    </I18nProvider>,
  );

describe('CheckinCalendar', () => {
  it('lays a month out in Monday-first weeks', () => {
    const december = monthGrid(dayjs('2026-12-01'));
    // 1 December 2026 is a Tuesday: one blank before it; 31 December a Thursday: three after.
    expect(december[0]!.map((d) => d?.date() ?? null)).toEqual([null, 1, 2, 3, 4, 5, 6]);
    expect(december.at(-1)!.map((d) => d?.date() ?? null)).toEqual([28, 29, 30, 31, null, null, null]);
    expect(monthGrid(dayjs('2027-02-01'))).toHaveLength(4); // February 2027: 28 days from a Monday
  });

  it('marks the days checked in on and today, in the month of today', () => {
    show(['2026-12-06', '2026-12-07', '2026-11-30'], '2026-12-07');
    expect(screen.getByRole('grid', { name: 'December 2026' })).toBeTruthy();
    const marked = document.querySelectorAll('td[data-checked]');
    expect([...marked].map((cell) => cell.getAttribute('aria-label'))).toEqual([
      '2026-12-06 checked in',
      '2026-12-07 checked in',
    ]);
    expect(document.querySelector('td[aria-current="date"]')?.textContent).toBe('7');
    expect(screen.getByLabelText('2026-12-08').hasAttribute('data-checked')).toBe(false);
  });

  it('goes to earlier and later months, showing their check-ins', async () => {
    const user = userEvent.setup();
    show(['2026-11-30'], '2026-12-07');
    await user.click(screen.getByRole('button', { name: 'Previous month' }));
    expect(screen.getByRole('grid', { name: 'November 2026' })).toBeTruthy();
    expect(screen.getByLabelText('2026-11-30 checked in')).toBeTruthy();
    expect(document.querySelector('td[aria-current="date"]')).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Next month' }));
    await user.click(screen.getByRole('button', { name: 'Next month' }));
    expect(screen.getByRole('grid', { name: 'January 2027' })).toBeTruthy();
  });

  it('speaks Chinese in zh-CN', () => {
    show([], '2026-12-07', 'zh-CN');
    expect(screen.getByRole('grid', { name: '2026年12月' })).toBeTruthy();
    expect(screen.getAllByRole('columnheader').map((h) => h.textContent)).toEqual([
      '一',
      '二',
      '三',
      '四',
      '五',
      '六',
      '日',
    ]);
    expect(screen.getByRole('button', { name: '上个月' })).toBeTruthy();
  });
});
