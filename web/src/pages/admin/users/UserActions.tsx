import { useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Card, Flex, Popconfirm } from 'antd';
import { useState, type ReactNode } from 'react';
import { type AdminUserDetail, userPath } from '@/api/admin-people.ts';
import { api } from '@/api/client.ts';
import { number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { AdjustCreditsModal } from './AdjustCreditsModal.tsx';
import { DeleteUserModal } from './DeleteUserModal.tsx';
import { SetPlanModal } from './SetPlanModal.tsx';

type Outcome = { ok: boolean; text: string };

/** What an admin can do to an account; each asks first, then says what happened (or why not) here. */
export function UserActions({ user }: { user: AdminUserDetail }) {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const [outcome, setOutcome] = useState<Outcome>();
  const [modal, setModal] = useState<'credits' | 'plan' | 'delete'>();
  const deleted = user.deletedAt !== null;
  const path = (rest = '') => userPath(user.id, rest);

  const done = (text: string) => {
    setOutcome({ ok: true, text });
    setModal(undefined);
    void queryClient.invalidateQueries({ queryKey: ['admin', 'user', user.id] });
  };
  /** A confirmed action: its answer as the outcome, or its refusal (the API's message). */
  const run = async (work: () => Promise<string>) => {
    try {
      done(await work());
    } catch (error) {
      setOutcome({ ok: false, text: (error as Error).message });
    }
  };
  const confirm = (title: string, label: string, work: () => Promise<string>, danger = false): ReactNode => (
    <Popconfirm
      title={title}
      okText={t('confirm')}
      cancelText={t('cancel')}
      okButtonProps={{ danger }}
      onConfirm={() => void run(work)}
    >
      <Button danger={danger} disabled={deleted}>
        {label}
      </Button>
    </Popconfirm>
  );

  return (
    <Card title={<h2 className="card-title">{t('actions')}</h2>}>
      {outcome && (
        <Alert
          type={outcome.ok ? 'success' : 'error'}
          showIcon
          closable
          onClose={() => setOutcome(undefined)}
          message={outcome.text}
          style={{ marginBottom: 12 }}
          data-testid="action-outcome"
        />
      )}
      <Flex wrap gap={8}>
        <Button type="primary" disabled={deleted} onClick={() => setModal('credits')}>
          {t('apAdjustCredits')}
        </Button>
        <Button disabled={deleted} onClick={() => setModal('plan')}>
          {t('apSetPlan')}
        </Button>
        {confirm(t('apEndPlanConfirm'), t('apEndPlan'), async () => {
          await api(path('/plan'), { method: 'DELETE' });
          void queryClient.invalidateQueries({ queryKey: ['admin', 'user', user.id, 'plan'] });
          return t('apPlanEnded');
        })}
        {user.status === 'active'
          ? confirm(
              t('apDisableConfirm'),
              t('disable'),
              async () => {
                await api(path('/disable'), { method: 'POST' });
                return t('apDisabledDone');
              },
              true,
            )
          : confirm(t('apEnableConfirm'), t('enable'), async () => {
              await api(path('/enable'), { method: 'POST' });
              return t('apEnabledDone');
            })}
        {user.role === 'user'
          ? confirm(t('apMakeAdminConfirm'), t('apMakeAdmin'), async () => {
              await api(path('/role'), { method: 'PUT', body: { role: 'admin' } });
              return t('apRoleDone', { role: t('apRole_admin') });
            })
          : confirm(
              t('apMakeUserConfirm'),
              t('apMakeUser'),
              async () => {
                await api(path('/role'), { method: 'PUT', body: { role: 'user' } });
                return t('apRoleDone', { role: t('apRole_user') });
              },
              true,
            )}
        {confirm(
          t('apEndSessionsConfirm'),
          t('apEndSessions'),
          async () => {
            const { sessionsEnded } = await api<{ sessionsEnded: number }>(path('/sessions'), { method: 'DELETE' });
            return t('apSessionsEnded', { n: number(sessionsEnded) });
          },
          true,
        )}
        <Button danger disabled={deleted} onClick={() => setModal('delete')}>
          {t('apDeleteUser')}
        </Button>
      </Flex>
      <AdjustCreditsModal
        open={modal === 'credits'}
        userId={user.id}
        onClose={() => setModal(undefined)}
        onDone={(balance) => done(t('apAdjusted', { balance: number(balance) }))}
      />
      <SetPlanModal
        open={modal === 'plan'}
        userId={user.id}
        onClose={() => setModal(undefined)}
        onDone={(text) => done(text)}
      />
      <DeleteUserModal
        open={modal === 'delete'}
        user={user}
        onClose={() => setModal(undefined)}
        onDone={() => done(t('apDeletedDone'))}
      />
    </Card>
  );
}
