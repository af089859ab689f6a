/**
 * An image-generation job API: what Tollgate needs of any upstream that takes a job, runs it on its own
 * time and is asked about it later. `third-party-api.ts` speaks the one seed 003 names
 * (THIRD_PARTY_API_BASE_URL); another job API is another implementation of this interface, registered
 * under its own `name` (a job remembers which API holds it).
 *
 * Every method answers what happened or throws `JobApiUnavailable` (not reached, timed out, a 5xx or a
 * 429: passing trouble, asked again later) — never anything else. An answer that is not the API's
 * protocol is `garbage`: it is logged and the job is given up.
 */
export interface ImageJobApi {
  readonly name: string;
  submit(request: JobSubmission): Promise<SubmitOutcome>;
  status(upstreamId: string): Promise<StatusOutcome>;
  /** Asks the upstream to stop the job; answers whether it said yes (a job it no longer has is fine too). */
  cancel(upstreamId: string): Promise<boolean>;
}

/** What is sent: the generation request as the client sent it, settled by its templates, and the face photos. */
export interface JobSubmission {
  body: Record<string, unknown>;
  referenceImages: string[];
}

export type UpstreamJobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';

export type SubmitOutcome =
  | { kind: 'accepted'; upstreamId: string; state: UpstreamJobState }
  /** The upstream refused the request itself (a 4xx): the client's fault, its message passed on. */
  | { kind: 'refused'; status: number; message: string }
  | { kind: 'garbage'; detail: string };

export type StatusOutcome =
  | { kind: 'state'; state: UpstreamJobState; imageUrls: string[]; error: string | null }
  /** The upstream does not know the job (404): lost. */
  | { kind: 'lost' }
  | { kind: 'garbage'; detail: string };

/** The upstream could not be asked now (unreachable, slow, 5xx, 429): try again later. */
export class JobApiUnavailable extends Error {
  override readonly name = 'JobApiUnavailable';
}
