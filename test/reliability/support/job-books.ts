import type { Kysely } from 'kysely';
import type { DB } from '#core/db/schema.ts';
import type { HeldJob } from '#modules/metering/jobs.ts';

/**
 * The image jobs' part of the books (docs/image-jobs.md): every settled job's hold is closed, once —
 * settled for exactly what the job says it charged (released when it charged nothing) — and its usage
 * record, named by the hold, exists once with that charge; a job charged something delivered images.
 * Returns one sentence per broken rule.
 */
export async function checkJobBooks(db: Kysely<DB>): Promise<string[]> {
  const violations: string[] = [];
  const jobs = await db
    .selectFrom('image_jobs')
    .select(['id', 'status', 'held', 'images', 'credits_charged', 'settled_at', 'finished_at'])
    .execute();
  const holdIds = new Map<string, string>();
  for (const job of jobs) {
    const hold = (JSON.parse(job.held) as HeldJob).hold;
    if (hold) holdIds.set(job.id, hold.id);
  }
  const ids = [...holdIds.values()];
  const holds = new Map<string, { status: string; charged: number | null }>();
  const records = new Map<string, number[]>();
  for (let i = 0; i < ids.length; i += 500) {
    const slice = ids.slice(i, i + 500);
    for (const h of await db
      .selectFrom('credit_holds')
      .select(['id', 'status', 'charged'])
      .where('id', 'in', slice)
      .execute())
      holds.set(h.id, { status: h.status, charged: h.charged === null ? null : Number(h.charged) });
    for (const r of await db.selectFrom('usage_records').select(['id', 'credits']).where('id', 'in', slice).execute())
      records.set(r.id, [...(records.get(r.id) ?? []), Number(r.credits)]);
  }
  for (const job of jobs) {
    const what = `image job ${job.id} (${job.status})`;
    if (job.settled_at !== null && job.finished_at === null) violations.push(`${what}: settled before it ended`);
    const charged = Number(job.credits_charged ?? 0);
    const images = job.images ? (JSON.parse(job.images) as unknown[]).length : 0;
    if (charged > 0 && (job.status !== 'succeeded' || images === 0))
      violations.push(`${what}: charged ${charged} without delivering an image`);
    const holdId = holdIds.get(job.id);
    if (!holdId || job.settled_at === null) continue;
    const hold = holds.get(holdId);
    if (!hold) violations.push(`${what}: its hold ${holdId} does not exist`);
    else if (hold.status === 'open') violations.push(`${what}: settled, but its hold ${holdId} is still open`);
    else if (charged > 0 && (hold.status !== 'settled' || hold.charged !== charged))
      violations.push(`${what}: charged ${charged}, but its hold is ${hold.status} for ${hold.charged ?? 0}`);
    const recorded = records.get(holdId) ?? [];
    if (recorded.length !== 1 || recorded[0] !== charged)
      violations.push(`${what}: charged ${charged}, usage records of its hold say [${recorded.join(', ')}]`);
  }
  return violations;
}
