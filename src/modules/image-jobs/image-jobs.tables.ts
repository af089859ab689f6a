import type { Selectable } from 'kysely';

/** What a job is, as its answers say: upstream's states, and Tollgate's own end for a timeout (`failed`). */
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';

export const JOB_STATUSES: readonly JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'canceled'];

/** A job that is over: nothing more comes from upstream. */
export function isFinal(status: string): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'canceled';
}

/** A paid image-generation job (migrations/20261207_0014_image_jobs.ts, docs/image-jobs.md). */
export interface ImageJobsTable {
  id: string;
  user_id: string;
  key_id: string | null;
  request_id: string;
  /** The job API it was sent to (job-api.ts). */
  adapter: string;
  /** The upstream's id; null until the upstream accepted it. */
  upstream_id: string | null;
  status: JobStatus;
  prompt: string;
  negative_prompt: string | null;
  mode: string;
  resolution: string;
  image_count: number;
  /** JSON: the other settings, as sent upstream. */
  params: string;
  character_id: string | null;
  prompt_template_id: string | null;
  param_template_id: string | null;
  /** The price-table name it was priced by (image-job:<mode>:<resolution>, …). */
  price_model: string;
  credits_held: number;
  credits_charged: number | null;
  /** The images it was charged for (0 until it settled, and for a job that made none). */
  images_made: number;
  /** JSON: the HeldJob (metering/jobs.ts) the settle resumes. */
  held: string;
  /** JSON: [{id, url, width, height}], the images copied into storage; null until it succeeded. */
  images: string | null;
  error_code: string | null;
  error_message: string | null;
  created_at: number;
  updated_at: number;
  /** Past this the job is given up (IMAGE_JOB_TIMEOUT) and its hold released. */
  deadline_at: number;
  finished_at: number | null;
  /** When its money was closed; null while it is open. */
  settled_at: number | null;
  /** When the poller looks at it next; null once settled. */
  next_poll_at: number | null;
  lease_owner: string | null;
  lease_until: number | null;
}

export interface ImageJobsTables {
  image_jobs: ImageJobsTable;
}

export type ImageJobRow = Selectable<ImageJobsTable>;
