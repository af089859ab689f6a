-- The hand-written hot statements on mysql, one per shape, as the code builds them.
-- Checked by test/db/hot-statements.test.ts; regenerate after a deliberate change with
--   UPDATE_SQL_SNAPSHOTS=1 npx vitest run test/db/hot-statements.test.ts

-- shape: balanceOf
select `balance` from `credit_accounts` where `user_id` = ?;

-- shape: closeOpenHolds:released:1:1:locked
update `credit_holds` set `status` = ?, `charged` = null, `closed_at` = ? where `id` in (?) and `status` = 'open';

-- shape: closeOpenHolds:released:3:1:locked
update `credit_holds` set `status` = ?, `charged` = null, `closed_at` = ? where `id` in (?) and `status` = 'open';

-- shape: closeOpenHolds:released:3:3:locked
update `credit_holds` set `status` = ?, `charged` = null, `closed_at` = ? where `id` in (?, ?, ?) and `status` = 'open';

-- shape: closeOpenHolds:settled:1:1:locked
update `credit_holds` set `status` = ?, `charged` = ?, `closed_at` = ? where `id` in (?) and `status` = 'open';

-- shape: closeOpenHolds:settled:3:1:locked
update `credit_holds` set `status` = ?, `charged` = case `id` when ? then ? when ? then ? when ? then ? else `charged` end, `closed_at` = ? where `id` in (?) and `status` = 'open';

-- shape: closeOpenHolds:settled:3:3:locked
update `credit_holds` set `status` = ?, `charged` = case `id` when ? then ? when ? then ? when ? then ? else `charged` end, `closed_at` = ? where `id` in (?, ?, ?) and `status` = 'open';

-- shape: insertHolds:1
insert into `credit_holds` (`id`, `user_id`, `amount`, `status`, `reference`, `idempotency_key`, `created_at`, `expires_at`, `closed_at`, `charged`) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- shape: insertHolds:3
insert into `credit_holds` (`id`, `user_id`, `amount`, `status`, `reference`, `idempotency_key`, `created_at`, `expires_at`, `closed_at`, `charged`) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- shape: insertLedger:1
insert into `credit_ledger` (`id`, `user_id`, `amount`, `balance_after`, `kind`, `reason`, `reference`, `idempotency_key`, `created_at`) values (?, ?, ?, ?, ?, ?, ?, ?, ?);

-- shape: insertLedger:3
insert into `credit_ledger` (`id`, `user_id`, `amount`, `balance_after`, `kind`, `reason`, `reference`, `idempotency_key`, `created_at`) values (?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?);

-- shape: insertUsage:1
insert into `usage_records` (`id`, `request_id`, `user_id`, `key_id`, `channel_id`, `endpoint`, `model`, `stream`, `input_tokens`, `output_tokens`, `credits`, `latency_ms`, `status`, `http_status`, `end_reason`, `usage_source`, `error`, `created_at`, `overrun`) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on duplicate key update `id` = `id`;

-- shape: insertUsage:3
insert into `usage_records` (`id`, `request_id`, `user_id`, `key_id`, `channel_id`, `endpoint`, `model`, `stream`, `input_tokens`, `output_tokens`, `credits`, `latency_ms`, `status`, `http_status`, `end_reason`, `usage_source`, `error`, `created_at`, `overrun`) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on duplicate key update `id` = `id`;

-- shape: lockOpenHolds:1
select `id`, `user_id`, `amount`, `reference` from `credit_holds` where `id` in (?) and `status` = 'open' for update;

-- shape: lockOpenHolds:3
select `id`, `user_id`, `amount`, `reference` from `credit_holds` where `id` in (?, ?, ?) and `status` = 'open' for update;

-- shape: moveAccount:false:false:false:false:false
update `credit_accounts` set `held` = `held`, `updated_at` = ? where `user_id` = ?;

-- shape: moveAccount:false:false:true:false:false
update `credit_accounts` set `held` = `held` + ?, `updated_at` = ? where `user_id` = ?;

-- shape: moveAccount:false:false:true:true:false
update `credit_accounts` set `held` = `held` + ?, `updated_at` = ? where `user_id` = ? and `balance` - `held` - ? >= ?;

-- shape: moveAccount:false:true:false:false:false
update `credit_accounts` set `held` = `held` - ?, `updated_at` = ? where `user_id` = ?;

-- shape: moveAccount:false:true:true:false:false
update `credit_accounts` set `held` = `held` - ? + ?, `updated_at` = ? where `user_id` = ?;

-- shape: moveAccount:false:true:true:true:false
update `credit_accounts` set `held` = `held` - ? + ?, `updated_at` = ? where `user_id` = ? and `balance` - `held` - ? >= ?;

-- shape: moveAccount:true:false:false:false:false
update `credit_accounts` set `balance` = `balance` - ?, `held` = `held`, `updated_at` = ? where `user_id` = ?;

-- shape: moveAccount:true:false:true:false:false
update `credit_accounts` set `balance` = `balance` - ?, `held` = `held` + ?, `updated_at` = ? where `user_id` = ?;

-- shape: moveAccount:true:false:true:true:false
update `credit_accounts` set `balance` = `balance` - ?, `held` = `held` + ?, `updated_at` = ? where `user_id` = ? and `balance` - `held` - ? >= ?;

-- shape: moveAccount:true:true:false:false:false
update `credit_accounts` set `balance` = `balance` - ?, `held` = `held` - ?, `updated_at` = ? where `user_id` = ?;

-- shape: moveAccount:true:true:true:false:false
update `credit_accounts` set `balance` = `balance` - ?, `held` = `held` - ? + ?, `updated_at` = ? where `user_id` = ?;

-- shape: moveAccount:true:true:true:true:false
update `credit_accounts` set `balance` = `balance` - ?, `held` = `held` - ? + ?, `updated_at` = ? where `user_id` = ? and `balance` - `held` - ? >= ?;
