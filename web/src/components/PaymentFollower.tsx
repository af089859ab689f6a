import { Alert, Button, QRCode, Result, Space, Typography } from 'antd';
import { useEffect, useRef, useState } from 'react';
import type { Order } from '@/api/types.ts';
import { money } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';

export interface PaymentFollowerProps {
  order: Order;
  /** The WeChat Pay Native `code_url`, shown as a QR code to scan. */
  codeUrl: string;
  /** Reads the order again (our server, never WeChat). */
  fetchOrder: (id: string) => Promise<Order>;
  onPaid?: (order: Order) => void;
  intervalMs?: number;
  /** How many looks before saying "not yet: check later" (the server keeps asking WeChat meanwhile). */
  maxPolls?: number;
}

type Phase = 'waiting' | 'paid' | 'expired' | 'timeout';

const PAID = new Set<Order['status']>(['paid', 'fulfilled']);

/**
 * Shows the QR code and follows the order on our server every couple of seconds until it is paid (the
 * server learns it from WeChat's notification or its own query), closed, or the wait runs out.
 */
export function PaymentFollower({
  order,
  codeUrl,
  fetchOrder,
  onPaid,
  intervalMs = 2000,
  maxPolls = 60,
}: PaymentFollowerProps) {
  const { t } = useI18n();
  const [phase, setPhase] = useState<Phase>('waiting');
  const [round, setRound] = useState(0);
  const onPaidRef = useRef(onPaid);
  onPaidRef.current = onPaid;

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let polls = 0;
    const look = async () => {
      polls += 1;
      try {
        const current = await fetchOrder(order.id);
        if (stopped) return;
        if (PAID.has(current.status)) {
          setPhase('paid');
          onPaidRef.current?.(current);
          return;
        }
        if (current.status !== 'pending') {
          setPhase('expired');
          return;
        }
      } catch {
        // A failed look (network, a restart) is not an answer: look again.
      }
      if (stopped) return;
      if (polls >= maxPolls) setPhase('timeout');
      else timer = setTimeout(() => void look(), intervalMs);
    };
    setPhase('waiting');
    timer = setTimeout(() => void look(), intervalMs);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [order.id, fetchOrder, intervalMs, maxPolls, round]);

  if (phase === 'paid') return <Result status="success" title={t('paid')} subTitle={order.description} />;
  return (
    <Space direction="vertical" align="center" style={{ width: '100%' }}>
      <Typography.Text>{t('scanToPay', { amount: money(order.amount, order.currency) })}</Typography.Text>
      <QRCode
        value={codeUrl}
        type="svg"
        size={200}
        color="#000"
        bgColor="#fff"
        status={phase === 'expired' ? 'expired' : 'active'}
        aria-label={t('wechat_native')}
      />
      <Typography.Text type="secondary" data-order-no={order.orderNo}>
        {t('orderNo')}: {order.orderNo}
      </Typography.Text>
      {phase === 'waiting' && <Typography.Text role="status">{t('waitingPayment')}</Typography.Text>}
      {phase === 'expired' && <Alert role="alert" type="warning" showIcon title={t('paymentExpired')} />}
      {phase === 'timeout' && (
        <Alert
          role="status"
          type="info"
          showIcon
          title={t('paymentTimeout')}
          action={
            <Button size="small" onClick={() => setRound(round + 1)}>
              {t('checkAgain')}
            </Button>
          }
        />
      )}
    </Space>
  );
}
