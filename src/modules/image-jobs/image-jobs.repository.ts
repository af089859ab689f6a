import type { Kysely } from 'kysely';
import { olderThan } from '#core/db/keyset.ts';
import type { DB } from '#core/db/schema.ts';
import type { CursorPosition } from '#core/http/pagination.ts';
import type { ImageJobRow, ImageJobsTable, JobStatus } from './image-jobs.tables.ts';

/** What a job ended with, written once by the instance that holds its lease. */
export interface JobOutcome {
  status: 'succeeded' | 'failed' | 'canceled';
  images: string | null;
  error_code: string | null;
  error_message: string | null;
}

/** The SQL of image jobs. A user's reads name the owner; the poller's claims are conditional updates. */
export class ImageJobsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async insert(row: ImageJobsTable): Promise<void> {
    await this.db.insertInto('image_jobs').values(row).execute();
  }

  find(id: string): Promise<ImageJobRow | undefined> {
    return this.db.selectFrom('image_jobs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findOwned(userId: string, id: string): Promise<ImageJobRow | undefined> {
    return this.db
      .selectFrom('image_jobs')
      .selectAll()
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
  }

  async list(
    userId: string,
    status: JobStatus | undefined,
    before: CursorPosition | undefined,
    offset: number,
    limit: number,
  ): Promise<{ rows: ImageJobRow[]; total: number }> {
    let rows = this.db.selectFrom('image_jobs').selectAll().where('user_id', '=', userId);
    let counted = this.db
      .selectFrom('image_jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId);
    if (status) {
      rows = rows.where('status', '=', status);
      counted = counted.where('status', '=', status);
    }
    if (before) rows = rows.where(olderThan(before));
    const [page, total] = await Promise.all([
      rows.orderBy('created_at', 'desc').orderBy('id', 'desc').offset(offset).limit(limit).execute(),
      counted.executeTakeFirstOrThrow(),
    ]);
    return { rows: page, total: Number(total.n) };
  }

  /** Open jobs whose next look is due and that nobody holds, oldest look first. */
  async due(now: number, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('image_jobs')
      .select('id')
      .where('next_poll_at', '<=', now)
      .where('settled_at', 'is', null)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
      .orderBy('next_poll_at')
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  /** Takes the job for `owner` until `until`, if it is open and nobody else holds it: true when taken. */
  async claim(id: string, owner: string, now: number, until: number): Promise<boolean> {
    const result = await this.db
      .updateTable('image_jobs')
      .set({ lease_owner: owner, lease_until: until })
      .where('id', '=', id)
      .where('settled_at', 'is', null)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Gives the lease back, with the job's next look at `nextPollAt`. */
  async release(id: string, owner: string, nextPollAt: number): Promise<void> {
    await this.db
      .updateTable('image_jobs')
      .set({ lease_owner: null, lease_until: null, next_poll_at: nextPollAt })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .where('settled_at', 'is', null)
      .execute();
  }

  /** The upstream took the job (or said where it is now): its id and state, under the lease. */
  async update(
    id: string,
    owner: string | null,
    patch: { upstream_id?: string; status: JobStatus; updated_at: number },
  ): Promise<void> {
    let query = this.db.updateTable('image_jobs').set(patch).where('id', '=', id).where('finished_at', 'is', null);
    query = owner === null ? query : query.where('lease_owner', '=', owner);
    await query.execute();
  }

  /** Writes the job's end, once: true when this call wrote it (the lease is `owner`'s and no end was written). */
  async finish(id: string, owner: string, outcome: JobOutcome, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('image_jobs')
      .set({ ...outcome, finished_at: now, updated_at: now })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .where('finished_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Records that the job's money is closed, once: true for the one call that recorded it. */
  async markSettled(id: string, charged: number, imagesMade: number, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('image_jobs')
      .set({
        settled_at: now,
        credits_charged: charged,
        images_made: imagesMade,
        next_poll_at: null,
        lease_owner: null,
        lease_until: null,
        updated_at: now,
      })
      .where('id', '=', id)
      .where('settled_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** The images made by settled jobs: the user's, or everyone's. */
  async imagesMade(userId?: string): Promise<number> {
    let query = this.db
      .selectFrom('image_jobs')
      .select((eb) => eb.fn.sum<number | string | null>('images_made').as('n'));
    if (userId !== undefined) query = query.where('user_id', '=', userId);
    const row = await query.executeTakeFirstOrThrow();
    return Number(row.n ?? 0);
  }
}
