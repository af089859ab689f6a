import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { Order, OrderStatus } from '@/api/types.ts';
import { I18nProvider } from '@/i18n/index.tsx';
import { PaymentFollower } from './PaymentFollower.tsx';

const ORDER: Order = {
  id: 'order-1',
  orderNo: 'TG202612070001',
  kind: 'plan',
  description: 'Pro, 30 days',
  amount: 990,
  currency: 'CNY',
  status: 'pending',
  createdAt: '2026-12-07T10:00:00.000Z',
  expiresAt: '2026-12-07T10:30:00.000Z',
  paidAt: null,
};

/** The order as the server reports it, one status per look (the last repeats). */
function server(...statuses: (OrderStatus | Error)[]) {
  let looks = 0;
  const fetchOrder = vi.fn((id: string) => {
    const status = statuses[Math.min(looks++, statuses.length - 1)]!;
    if (status instanceof Error) return Promise.reject(status);
    return Promise.resolve({ ...ORDER, id, status });
  });
  return fetchOrder;
}

const follow = (
  fetchOrder: (id: string) => Promise<Order>,
  extra: { onPaid?: (o: Order) => void; maxPolls?: number } = {},
) =>
  render(
    <I18nProvider lang="en">
      <PaymentFollower
        order={ORDER}
        codeUrl="weixin://wxpay/bizpayurl?pr=abc"
        fetchOrder={fetchOrder}
        intervalMs={5}
        {...extra}
      />
    </I18nProvider>,
  );

describe('PaymentFollower', () => {
  it('shows the QR code and the amount, follows the order through pending to paid, then stops asking', async () => {
    const fetchOrder = server('pending', 'pending', 'fulfilled');
    const onPaid = vi.fn();
    const { container } = follow(fetchOrder, { onPaid });
    expect(screen.getByText('Scan with WeChat to pay ¥9.90')).toBeTruthy();
    expect(container.querySelector('.ant-qrcode svg')).not.toBeNull();
    expect(screen.getByRole('status').textContent).toBe('Waiting for the payment…');

    await screen.findByText('Paid: thank you! Your plan is active.');
    expect(onPaid).toHaveBeenCalledTimes(1);
    expect(onPaid.mock.calls[0]![0]).toMatchObject({ id: 'order-1', status: 'fulfilled' });
    const looks = fetchOrder.mock.calls.length;
    expect(looks).toBe(3);
    // Paid is final: no more looks however long the page stays open.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fetchOrder.mock.calls.length).toBe(looks);
  });

  it('a failed look is not an answer: it looks again', async () => {
    const fetchOrder = server(new Error('network down'), 'paid');
    follow(fetchOrder);
    await screen.findByText('Paid: thank you! Your plan is active.');
    expect(fetchOrder).toHaveBeenCalledTimes(2);
  });

  it('a closed order shows the code expired and is not followed further', async () => {
    const fetchOrder = server('pending', 'closed');
    const onPaid = vi.fn();
    follow(fetchOrder, { onPaid });
    expect((await screen.findByRole('alert')).textContent).toContain('This payment code has expired');
    expect(onPaid).not.toHaveBeenCalled();
    expect(fetchOrder).toHaveBeenCalledTimes(2);
  });

  it('after the last look it says so, and "Check again" follows the order anew', async () => {
    const user = userEvent.setup();
    const fetchOrder = server('pending', 'pending', 'pending', 'paid');
    follow(fetchOrder, { maxPolls: 3 });
    await screen.findByText('No payment seen yet. If you have paid, it will show up shortly.');
    expect(fetchOrder).toHaveBeenCalledTimes(3);
    await user.click(screen.getByRole('button', { name: 'Check again' }));
    await screen.findByText('Paid: thank you! Your plan is active.');
  });
});
