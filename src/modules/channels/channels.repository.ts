import { sql, type Kysely } from 'kysely';
import type { DB } from '#core/db/schema.ts';
import type { ChannelKind, ChannelRow, ChannelsTable } from './channels.tables.ts';

export type ChannelChanges = Partial<Omit<ChannelsTable, 'id' | 'created_at'>>;

export class ChannelsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  all(): Promise<ChannelRow[]> {
    return this.db
      .selectFrom('channels')
      .selectAll()
      .orderBy('priority', 'desc')
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  }

  find(id: string): Promise<ChannelRow | undefined> {
    return this.db.selectFrom('channels').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async count(kind: ChannelKind): Promise<number> {
    const row = await this.db
      .selectFrom('channels')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('kind', '=', kind)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insert(row: ChannelRow): Promise<void> {
    await this.db.insertInto('channels').values(row).execute();
  }

  async update(id: string, changes: ChannelChanges): Promise<boolean> {
    const result = await this.db.updateTable('channels').set(changes).where('id', '=', id).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async remove(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('channels').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  /** One more failure in a row; returns the new count. */
  async recordFailure(id: string, error: string, now: number): Promise<number> {
    await this.db
      .updateTable('channels')
      .set({ consecutive_failures: sql`consecutive_failures + 1`, last_error: error.slice(0, 255), updated_at: now })
      .where('id', '=', id)
      .execute();
    const row = await this.db
      .selectFrom('channels')
      .select('consecutive_failures')
      .where('id', '=', id)
      .executeTakeFirst();
    return row?.consecutive_failures ?? 0;
  }

  /** Takes the channel out until a probe finds it healthy; false when it already was out. */
  async autoDisable(id: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('channels')
      .set({ auto_disabled_at: now, updated_at: now })
      .where('id', '=', id)
      .where('auto_disabled_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async markHealthy(id: string, now: number): Promise<void> {
    await this.db
      .updateTable('channels')
      .set({ consecutive_failures: 0, auto_disabled_at: null, last_error: null, updated_at: now })
      .where('id', '=', id)
      .execute();
  }
}
