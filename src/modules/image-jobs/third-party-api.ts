import { request } from 'undici';
import type { ImageJobApi, JobSubmission, StatusOutcome, SubmitOutcome, UpstreamJobState } from './job-api.ts';
import { JobApiUnavailable } from './job-api.ts';

/**
 * The job API seed 003 proxies (THIRD_PARTY_API_BASE_URL, THIRD_PARTY_API_KEY sent as a Bearer token).
 * The seed names its paths but not its answers; Tollgate reads it as the seed's own proxy paths without
 * `/proxy` (docs/image-jobs.md):
 *
 * - `POST {base}/v1/images/generate` — the generation request as Tollgate received it, plus
 *   `reference_images` (the character's photo URLs) → `{id, status}`;
 * - `GET {base}/v1/jobs/{id}` → `{id, status: queued|running|succeeded|failed|canceled, images: [{url}], error}`
 *   (404: the job is not known);
 * - `DELETE {base}/v1/jobs/{id}` — cancels.
 *
 * `pending`/`processing`/`completed`/`cancelled` are read as their synonyms. Anything else that is a 2xx
 * (not JSON, no id, an unknown status, images without URLs) is garbage.
 */
export class ThirdPartyJobApi implements ImageJobApi {
  readonly name = 'third-party';

  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
    private readonly timeoutMs: number,
  ) {}

  async submit(submission: JobSubmission): Promise<SubmitOutcome> {
    const body = { ...submission.body, reference_images: submission.referenceImages };
    const { status, text } = await this.send('POST', '/v1/images/generate', body);
    if (status >= 400) return { kind: 'refused', status, message: messageOf(text) ?? `HTTP ${status}` };
    const answer = parse(text);
    if (!answer) return { kind: 'garbage', detail: `not a JSON object: ${text.slice(0, 100)}` };
    const id = idOf(answer.id);
    const state = stateOf(answer.status ?? 'queued');
    if (!id || !state) return { kind: 'garbage', detail: `no id or an unknown status: ${text.slice(0, 100)}` };
    return { kind: 'accepted', upstreamId: id, state };
  }

  async status(upstreamId: string): Promise<StatusOutcome> {
    const { status, text } = await this.send('GET', `/v1/jobs/${encodeURIComponent(upstreamId)}`);
    if (status === 404) return { kind: 'lost' };
    if (status >= 400) return { kind: 'garbage', detail: `HTTP ${status}: ${text.slice(0, 100)}` };
    const answer = parse(text);
    const state = answer && stateOf(answer.status);
    if (!answer || !state) return { kind: 'garbage', detail: `not a job: ${text.slice(0, 100)}` };
    const images = answer.images ?? [];
    if (!Array.isArray(images)) return { kind: 'garbage', detail: 'images is not a list' };
    const imageUrls: string[] = [];
    for (const image of images as unknown[]) {
      const url = typeof image === 'string' ? image : (image as { url?: unknown } | null)?.url;
      if (typeof url !== 'string' || !/^https?:\/\//.test(url))
        return { kind: 'garbage', detail: 'an image has no URL' };
      imageUrls.push(url);
    }
    const error = typeof answer.error === 'string' ? answer.error : (messageOf(JSON.stringify(answer.error)) ?? null);
    return { kind: 'state', state, imageUrls, error: error?.slice(0, 500) ?? null };
  }

  async cancel(upstreamId: string): Promise<boolean> {
    const { status } = await this.send('DELETE', `/v1/jobs/${encodeURIComponent(upstreamId)}`);
    return status < 300 || status === 404;
  }

  /** One call; 5xx, 429, no answer in time and a refusal of Tollgate's own key (401/403) are JobApiUnavailable. */
  private async send(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) {
    let response;
    try {
      response = await request(`${this.baseUrl.replace(/\/+$/, '')}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (error) {
      throw new JobApiUnavailable(`the job API could not be reached: ${(error as Error).message}`);
    }
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      throw new JobApiUnavailable(`the job API's answer was cut short: ${(error as Error).message}`);
    }
    if ([401, 403, 429].includes(response.statusCode) || response.statusCode >= 500)
      throw new JobApiUnavailable(`the job API answered HTTP ${response.statusCode}`);
    return { status: response.statusCode, text };
  }
}

const STATES: Record<string, UpstreamJobState> = {
  queued: 'queued',
  pending: 'queued',
  running: 'running',
  processing: 'running',
  succeeded: 'succeeded',
  completed: 'succeeded',
  failed: 'failed',
  canceled: 'canceled',
  cancelled: 'canceled',
};

function stateOf(value: unknown): UpstreamJobState | undefined {
  return typeof value === 'string' ? STATES[value.toLowerCase()] : undefined;
}

function idOf(value: unknown): string | undefined {
  const id = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  return typeof id === 'string' && id.length > 0 && id.length <= 191 ? id : undefined;
}

function parse(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The message of an error answer: `{error: {message}}`, `{error: "…"}`, `{message}`. */
function messageOf(text: string | undefined): string | undefined {
  const answer = text === undefined ? undefined : parse(text);
  if (!answer) return undefined;
  const error = answer.error;
  const message =
    typeof error === 'string'
      ? error
      : typeof (error as { message?: unknown } | null)?.message === 'string'
        ? (error as { message: string }).message
        : answer.message;
  return typeof message === 'string' ? message.slice(0, 500) : undefined;
}
