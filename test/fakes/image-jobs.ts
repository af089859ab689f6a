import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { png } from '#test/storage/images.ts';

/**
 * A stand-in for seed 003's third-party image job API on 127.0.0.1, as Tollgate reads it
 * (src/modules/image-jobs/third-party-api.ts):
 *
 * - `POST /v1/images/generate` (JSON) → `{id, status: 'queued'}`; the body is kept in `submissions`;
 * - `GET /v1/jobs/:id` → `{id, status, images: [{url}], error}`, 404 for a job it does not know;
 * - `DELETE /v1/jobs/:id` → the job is `canceled`, `{id, status}`; kept in `cancels`;
 * - `GET /images/:name` (no key, like a CDN): a PNG, or what the job's script says (`text`, a 404).
 *
 * Every API call must carry `Authorization: Bearer <apiKey>` (401 otherwise). What each submitted job
 * does is scripted, one `JobScript` per submission in order (`script(...)`), the default being a job
 * that succeeds with the images asked for at the first look.
 */
export type ImageKind = 'png' | 'text' | 'missing';

export interface JobScript {
  /** How the job ends: `succeed`, `fail`, or never (`run`); `lose`: GET answers 404; `garbage`: GET answers `garbage`. */
  outcome?: 'succeed' | 'fail' | 'run' | 'lose' | 'garbage';
  /** Looks that answer `running` before the end shows (a slow job). */
  runningPolls?: number;
  /** The images a succeeded job gives (default: one PNG per image asked). */
  images?: ImageKind[];
  /** The GET body of a `garbage` job (default: not JSON). */
  garbage?: string;
  /** How the submission is answered: accepted (default), refused (400), down (500), or garbage (200, not JSON). */
  submit?: 'accept' | 'refuse' | 'down' | 'garbage';
}

interface FakeJob {
  id: string;
  asked: number;
  script: JobScript;
  polls: number;
  canceled: boolean;
}

export class FakeImageJobs {
  readonly apiKey = `tp-${randomBytes(12).toString('hex')}`;
  readonly submissions: Record<string, unknown>[] = [];
  readonly cancels: string[] = [];
  /** Requests refused for a missing or wrong key. */
  unauthorized = 0;
  /** GET /v1/jobs/:id answers received. */
  polls = 0;
  private readonly scripts: JobScript[] = [];
  private readonly jobs = new Map<string, FakeJob>();
  private readonly files = new Map<string, ImageKind>();

  private constructor(
    private readonly server: Server,
    readonly baseUrl: string,
  ) {}

  static async start(): Promise<FakeImageJobs> {
    const server = createServer((request, response) => {
      void fake.handle(request, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new FakeImageJobs(server, `http://127.0.0.1:${port}`);
    return fake;
  }

  /** The env that points Tollgate at this fake. */
  get env(): Record<string, string> {
    return { THIRD_PARTY_API_BASE_URL: this.baseUrl, THIRD_PARTY_API_KEY: this.apiKey };
  }

  /** The next submissions follow these scripts, in order. */
  script(...scripts: JobScript[]): void {
    this.scripts.push(...scripts);
  }

  /** The upstream ids of the jobs it was given, in order. */
  get jobIds(): string[] {
    return [...this.jobs.keys()];
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.baseUrl);
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const image = /^\/images\/([\w.-]+)$/.exec(url.pathname);
    if (request.method === 'GET' && image) return this.serveImage(image[1]!, response);
    if (request.headers.authorization !== `Bearer ${this.apiKey}`) {
      this.unauthorized += 1;
      return json(response, 401, { error: { message: 'invalid api key' } });
    }
    if (request.method === 'POST' && url.pathname === '/v1/images/generate')
      return this.submit(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>, response);
    const job = /^\/v1\/jobs\/([\w-]+)$/.exec(url.pathname);
    const found = job ? this.jobs.get(job[1]!) : undefined;
    if (!job || !found) return json(response, 404, { error: { message: 'job not found' } });
    if (request.method === 'DELETE') {
      this.cancels.push(found.id);
      found.canceled = true;
      return json(response, 200, { id: found.id, status: 'canceled' });
    }
    if (request.method === 'GET') return this.answerStatus(found, response);
    json(response, 405, { error: { message: 'method not allowed' } });
  }

  private submit(body: Record<string, unknown>, response: ServerResponse): void {
    this.submissions.push(body);
    const script = this.scripts.shift() ?? {};
    if (script.submit === 'refuse') return json(response, 400, { error: { message: 'prompt not allowed' } });
    if (script.submit === 'down') return json(response, 500, { error: { message: 'overloaded' } });
    if (script.submit === 'garbage') return text(response, 200, '<html>ok</html>');
    const id = `job_${randomBytes(8).toString('hex')}`;
    const asked = typeof body.count === 'number' ? body.count : 1;
    this.jobs.set(id, { id, asked, script, polls: 0, canceled: false });
    json(response, 200, { id, status: 'queued' });
  }

  private answerStatus(job: FakeJob, response: ServerResponse): void {
    this.polls += 1;
    job.polls += 1;
    const { outcome = 'succeed', runningPolls = 0 } = job.script;
    if (job.canceled) return json(response, 200, { id: job.id, status: 'canceled', images: [], error: null });
    if (outcome === 'lose') return json(response, 404, { error: { message: 'job not found' } });
    if (outcome === 'run' || job.polls <= runningPolls)
      return json(response, 200, { id: job.id, status: 'running', images: [], error: null });
    if (outcome === 'garbage') return text(response, 200, job.script.garbage ?? 'Internal state: <<corrupt>>');
    if (outcome === 'fail')
      return json(response, 200, { id: job.id, status: 'failed', images: [], error: 'content policy violation' });
    const kinds = job.script.images ?? Array.from({ length: job.asked }, () => 'png' as const);
    const images = kinds.map((kind, i) => {
      const name = `${job.id}-${i}.png`;
      this.files.set(name, kind);
      return { url: `${this.baseUrl}/images/${name}` };
    });
    json(response, 200, { id: job.id, status: 'succeeded', images, error: null });
  }

  private serveImage(name: string, response: ServerResponse): void {
    const kind = this.files.get(name);
    if (!kind || kind === 'missing') return text(response, 404, 'not found');
    if (kind === 'text') return text(response, 200, 'this is not an image');
    response.writeHead(200, { 'content-type': 'image/png' });
    response.end(png(64, 48));
  }
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

function text(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { 'content-type': 'text/plain' });
  response.end(body);
}
