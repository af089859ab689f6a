import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AdminUserDetail } from '@/api/admin-people.ts';
import { I18nProvider } from '@/i18n/index.tsx';
import { UserActions } from './UserActions.tsx';

const ADMIN: AdminUserDetail = {
  id: 'u1',
  email: 'boss@example.com',
  username: 'boss',
  nickname: null,
  phone: null,
  openid: null,
  hasPassword: true,
  role: 'admin',
  status: 'active',
  createdAt: '2026-12-01T00:00:00.000Z',
  updatedAt: '2026-12-01T00:00:00.000Z',
  deletedAt: null,
  credits: { balance: 1000, held: 0, available: 1000 },
};

/** The API as fetch answers it: each call gets the next answer. */
function api(...answers: { status: number; body: unknown }[]) {
  const fetch = vi.fn((_url: string, _init?: RequestInit) => {
    const answer = answers.shift() ?? { status: 500, body: {} };
    return Promise.resolve(new Response(JSON.stringify(answer.body), { status: answer.status }));
  });
  vi.stubGlobal('fetch', fetch);
  return fetch;
}

const show = () =>
  render(
    <QueryClientProvider client={new QueryClient()}>
      <I18nProvider lang="en">
        <UserActions user={ADMIN} />
      </I18nProvider>
    </QueryClientProvider>,
  );

afterEach(() => vi.unstubAllGlobals());

describe('UserActions', () => {
  it("shows the API's refusal in place: the last admin stays an admin", async () => {
    const fetch = api({
      status: 409,
      body: { success: false, statusCode: 409, code: 'LAST_ADMIN', message: 'At least one active admin must remain' },
    });
    const user = userEvent.setup();
    show();
    await user.click(screen.getByRole('button', { name: 'Make user' }));
    await user.click(await screen.findByRole('button', { name: 'Confirm' }));
    expect((await screen.findByTestId('action-outcome')).textContent).toContain(
      'At least one active admin must remain',
    );
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(fetch.mock.calls[0]![0]).toBe('/api/admin/users/u1/role');
    expect(fetch.mock.calls[0]![1]).toMatchObject({ method: 'PUT', body: JSON.stringify({ role: 'user' }) });
  });

  it('refuses an adjustment of 0 or without a reason before asking; a good one shows the new balance', async () => {
    const fetch = api({
      status: 200,
      body: { applied: true, balance: 1250, entry: { id: 'e', amount: 250, type: 'admin_adjust', reason: 'x' } },
    });
    const user = userEvent.setup();
    show();
    await user.click(screen.getByRole('button', { name: 'Adjust credits' }));
    await screen.findByRole('dialog');
    await user.type(screen.getByLabelText('Credits'), '0');
    await user.click(screen.getByRole('button', { name: 'Confirm' }));
    expect(await screen.findByText('Enter an amount other than 0')).toBeTruthy();
    expect(await screen.findByText('Required')).toBeTruthy();
    expect(fetch).not.toHaveBeenCalled();

    await user.clear(screen.getByLabelText('Credits'));
    await user.type(screen.getByLabelText('Credits'), '250');
    await user.type(screen.getByLabelText('Reason'), 'goodwill');
    await user.click(screen.getByRole('button', { name: 'Confirm' }));
    await waitFor(() => expect(screen.getByTestId('action-outcome').textContent).toContain('The balance is now 1,250'));
    expect(fetch.mock.calls[0]![1]).toMatchObject({
      method: 'POST',
      body: JSON.stringify({ amount: 250, reason: 'goodwill' }),
    });
  });
});
