/**
 * `npm run fakes`: starts the fake upstreams on fixed local ports for a hand trial of Tollgate,
 * prints how to point Tollgate at each, and runs until Ctrl-C. Each fake is one entry of FAKES
 * (OpenAI's and Dify's).
 *
 *   FAKE_OPENAI_PORT (4010)   FAKE_OPENAI_KEY (sk-fake-upstream; "any" accepts every key)
 *   FAKE_OPENAI_BEHAVIOR      a global behaviour, e.g. "chunk-delay=50" (see test/fakes/openai.ts)
 *   FAKE_DIFY_PORT (4020)     FAKE_DIFY_KEY (app-fake-chat: the key of the default chat app)
 *   FAKE_DIFY_BEHAVIOR        a global behaviour, e.g. "chunk-delay=50" (see test/fakes/dify.ts)
 */
import { difyApp, FakeDify } from '#test/fakes/dify.ts';
import { FakeOpenAI } from '#test/fakes/openai.ts';

interface RunningFake {
  name: string;
  /** Environment lines that point Tollgate at this fake. */
  env: Record<string, string>;
  notes: string[];
  close(): Promise<void>;
}

type FakeStarter = () => Promise<RunningFake>;

function port(variable: string, fallback: number): number {
  const raw = process.env[variable];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535)
    throw new Error(`${variable} must be a port number, got ${JSON.stringify(raw)}`);
  return value;
}

const startOpenAI: FakeStarter = async () => {
  const key = process.env.FAKE_OPENAI_KEY ?? 'sk-fake-upstream';
  const fake = await FakeOpenAI.start({
    port: port('FAKE_OPENAI_PORT', 4010),
    apiKeys: key === 'any' ? undefined : [key],
    behavior: process.env.FAKE_OPENAI_BEHAVIOR,
    record: false,
  });
  return {
    name: 'OpenAI',
    env: { OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: key === 'any' ? 'sk-anything' : key },
    notes: [
      `models: ${[...fake.models.keys()].join(', ')}`,
      'per request: header "x-fake-behavior: status=429" or body field "fake_behavior": "chunk-delay=200; reset-after=5"',
    ],
    close: () => fake.close(),
  };
};

const startDify: FakeStarter = async () => {
  const key = process.env.FAKE_DIFY_KEY ?? 'app-fake-chat';
  const fake = await FakeDify.start({
    port: port('FAKE_DIFY_PORT', 4020),
    behavior: process.env.FAKE_DIFY_BEHAVIOR,
    record: false,
  });
  // An unknown FAKE_DIFY_KEY becomes one more chat app, so any key can be tried.
  if (!fake.apps.has(key)) fake.apps.set(key, difyApp({ key, mode: 'chat', name: 'Fake Chat (FAKE_DIFY_KEY)' }));
  return {
    name: 'Dify',
    env: { DIFY_API_URL: fake.url, DIFY_API_KEY: key },
    notes: [
      `app keys: ${[...fake.apps.values()].map((app) => `${app.key} (${app.mode})`).join(', ')}`,
      'per request: header "x-fake-behavior: status=429" or inputs field "fake_behavior": "chunk-delay=200; reset-after=5"',
    ],
    close: () => fake.close(),
  };
};

const FAKES: FakeStarter[] = [startOpenAI, startDify];

const running: RunningFake[] = [];
for (const start of FAKES) running.push(await start());

const lines = ['Fake upstreams are running:'];
for (const fake of running) {
  lines.push('', `  ${fake.name}`);
  for (const [name, value] of Object.entries(fake.env)) lines.push(`    ${name}=${value}`);
  for (const note of fake.notes) lines.push(`    # ${note}`);
}
const env = running.flatMap((fake) => Object.entries(fake.env).map(([name, value]) => `${name}=${value}`)).join(' ');
lines.push('', 'Point Tollgate at them:', `  ${env} npm start`, '', 'Ctrl-C stops them.');
console.log(lines.join('\n'));

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void Promise.all(running.map((fake) => fake.close())).then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
