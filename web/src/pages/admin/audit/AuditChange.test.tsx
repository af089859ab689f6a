import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { I18nProvider } from '@/i18n/index.tsx';
import { AuditChange, changeRows } from './AuditChange.tsx';

describe('AuditChange', () => {
  it('lists every field either side names, marking the changed ones', () => {
    expect(
      changeRows({ balance: 1000 }, { balance: 1250, amount: 250, reason: 'goodwill', plan: { code: 'pro' } }),
    ).toEqual([
      { field: 'balance', before: '1000', after: '1250', changed: true },
      { field: 'amount', before: '—', after: '250', changed: true },
      { field: 'reason', before: '—', after: 'goodwill', changed: true },
      { field: 'plan', before: '—', after: '{"code":"pro"}', changed: true },
    ]);
    expect(changeRows({ role: 'user', status: 'active' }, { role: 'user', status: 'disabled' })).toEqual([
      { field: 'role', before: 'user', after: 'user', changed: false },
      { field: 'status', before: 'active', after: 'disabled', changed: true },
    ]);
    expect(changeRows(null, 3)).toEqual([{ field: 'value', before: '—', after: '3', changed: true }]);
  });

  it('shows them as a table named after the action, or says nothing was recorded', () => {
    const { unmount } = render(
      <I18nProvider lang="en">
        <AuditChange before={{ balance: 1000 }} after={{ balance: 1250 }} label="What POST /x changed" />
      </I18nProvider>,
    );
    const table = screen.getByRole('table', { name: 'What POST /x changed' });
    expect(table.querySelector('tr[data-changed] th')?.textContent).toBe('balance');
    expect(screen.getByRole('row', { name: /balance/ }).textContent).toBe('balance10001250');
    unmount();
    render(
      <I18nProvider lang="zh-CN">
        <AuditChange before={null} after={null} label="x" />
      </I18nProvider>,
    );
    expect(screen.getByText('没有记录变更前后的内容。')).toBeTruthy();
  });
});
