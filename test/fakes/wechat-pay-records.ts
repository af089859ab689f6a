/**
 * What the fake WeChat Pay keeps of an order and a refund, and how WeChat shows them (query answers,
 * notification plaintexts, refund objects). Field names as shared/reference/protocols.md §2 gives them.
 */
export interface FakeTransaction {
  appid: string;
  mchid: string;
  description: string;
  outTradeNo: string;
  notifyUrl: string;
  total: number;
  currency: string;
  tradeType: 'JSAPI' | 'NATIVE';
  openid: string | undefined;
  timeExpire: string | undefined;
  state: 'NOTPAY' | 'SUCCESS' | 'REFUND' | 'CLOSED';
  transactionId: string | undefined;
  successTime: string | undefined;
  prepayId: string | undefined;
  codeUrl: string | undefined;
  /** The request body, for "same out_trade_no, different parameters". */
  signature: string;
}

export interface FakeRefund {
  outRefundNo: string;
  refundId: string;
  outTradeNo: string;
  transactionId: string;
  refund: number;
  total: number;
  status: 'PROCESSING' | 'SUCCESS' | 'CLOSED' | 'ABNORMAL';
  notifyUrl: string;
  createTime: string;
  successTime: string | undefined;
}

/** The transaction as query and notification show it (no transaction_id, payer or success_time until paid). */
export function transactionView(tx: FakeTransaction): Record<string, unknown> {
  const paid = tx.state === 'SUCCESS' || tx.state === 'REFUND';
  return {
    appid: tx.appid,
    mchid: tx.mchid,
    out_trade_no: tx.outTradeNo,
    ...(paid ? { transaction_id: tx.transactionId } : {}),
    trade_type: tx.tradeType,
    trade_state: tx.state,
    trade_state_desc: { NOTPAY: '未支付', SUCCESS: '支付成功', REFUND: '转入退款', CLOSED: '已关闭' }[tx.state],
    ...(paid ? { bank_type: 'OTHERS', success_time: tx.successTime, payer: { openid: tx.openid } } : {}),
    attach: '',
    amount: paid
      ? { total: tx.total, payer_total: tx.total, currency: tx.currency, payer_currency: tx.currency }
      : { total: tx.total, currency: tx.currency },
  };
}

/** A refund as the refund create and query answers show it (`status`; the notification says `refund_status`). */
export function refundView(r: FakeRefund): Record<string, unknown> {
  return {
    refund_id: r.refundId,
    out_refund_no: r.outRefundNo,
    transaction_id: r.transactionId,
    out_trade_no: r.outTradeNo,
    channel: 'ORIGINAL',
    user_received_account: '支付用户零钱',
    ...(r.successTime ? { success_time: r.successTime } : {}),
    create_time: r.createTime,
    status: r.status,
    funds_account: 'AVAILABLE',
    amount: {
      total: r.total,
      refund: r.refund,
      payer_total: r.total,
      payer_refund: r.refund,
      settlement_refund: r.refund,
      settlement_total: r.total,
      discount_refund: 0,
      currency: 'CNY',
    },
  };
}

/** The first required field of a prepay that is missing or wrong (WeChat: 400 PARAM_ERROR naming it). */
export function prepayProblem(tradeType: 'JSAPI' | 'NATIVE', body: Record<string, unknown>): string | undefined {
  const amount = (body.amount ?? {}) as Record<string, unknown>;
  const payer = (body.payer ?? {}) as Record<string, unknown>;
  const outTradeNo = body.out_trade_no;
  return typeof outTradeNo !== 'string' || !/^[0-9A-Za-z_\-|*]{6,32}$/.test(outTradeNo)
    ? 'out_trade_no'
    : typeof body.description !== 'string' || !body.description
      ? 'description'
      : typeof body.notify_url !== 'string' || !/^https?:\/\/[^?]+$/.test(body.notify_url)
        ? 'notify_url'
        : typeof amount.total !== 'number' || !Number.isInteger(amount.total) || amount.total <= 0
          ? 'amount.total'
          : (amount.currency ?? 'CNY') !== 'CNY'
            ? 'amount.currency'
            : tradeType === 'JSAPI' && (typeof payer.openid !== 'string' || !payer.openid)
              ? 'payer.openid'
              : undefined;
}
