import type { LedgerItem } from '@/api/types.ts';
import { userPath } from '@/api/admin-people.ts';
import { usePaged } from '@/api/paged.ts';
import { PagedTable } from '@/components/PagedTable.tsx';
import { dateTime, number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';

/** The account's credit ledger, newest first. */
export function UserLedger({ userId }: { userId: string }) {
  const { t } = useI18n();
  const ledger = usePaged<LedgerItem>(['admin', 'user', userId, 'ledger'], userPath(userId, '/credits/history'));
  return (
    <PagedTable<LedgerItem>
      list={ledger}
      label={t('ledger')}
      columns={[
        { title: t('time'), dataIndex: 'createdAt', render: (v: string) => dateTime(v) },
        {
          title: t('amount'),
          dataIndex: 'amount',
          align: 'right',
          render: (v: number) => (v > 0 ? `+${number(v)}` : number(v)),
        },
        { title: t('type'), dataIndex: 'type', responsive: ['sm'] },
        { title: t('reason'), dataIndex: 'reason', responsive: ['md'] },
        { title: t('balanceAfter'), dataIndex: 'balanceAfter', align: 'right', render: number },
      ]}
    />
  );
}
