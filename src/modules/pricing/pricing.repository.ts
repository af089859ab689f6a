import type { Kysely } from 'kysely';
import type { DB } from '#core/db/schema.ts';
import type { ModelPricesTable } from './pricing.tables.ts';

export class PricingRepository {
  constructor(private readonly db: Kysely<DB>) {}

  all(): Promise<ModelPricesTable[]> {
    return this.db.selectFrom('model_prices').selectAll().orderBy('model').execute();
  }

  /** Insert or replace the price of one model (read-then-write inside a transaction: portable). */
  async put(row: ModelPricesTable): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const exists = await trx
        .selectFrom('model_prices')
        .select('model')
        .where('model', '=', row.model)
        .executeTakeFirst();
      if (exists) await trx.updateTable('model_prices').set(row).where('model', '=', row.model).execute();
      else await trx.insertInto('model_prices').values(row).execute();
    });
  }

  async remove(model: string): Promise<boolean> {
    const result = await this.db.deleteFrom('model_prices').where('model', '=', model).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }
}
