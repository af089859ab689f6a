/**
 * Builds the console into web/dist. `--if-stale` (npm's prepare and prestart) builds only when web/dist
 * is missing or older than a source file, so `npm start` stays fast once built; without Vite (an
 * install without dev dependencies) it says so and leaves the API to run without the console.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = join(import.meta.dirname, '..');
const SOURCES = ['src', 'public', 'index.html', 'vite.config.ts'];

/** Tests and their setup are not part of the build: changing them needs no rebuild. */
const NOT_BUILT = /\.test\.tsx?$|test-setup\.ts$/;

function newestSource(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return NOT_BUILT.test(path) ? 0 : stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestSource(join(path, name))));
}

export function isStale(): boolean {
  const index = join(web, 'dist', 'index.html');
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  return SOURCES.map((name) => join(web, name)).some((path) => existsSync(path) && newestSource(path) > built);
}

export async function buildConsole(): Promise<void> {
  // A production build whatever NODE_ENV the caller runs with (a test runner sets `test`, which Vite would keep).
  process.env.NODE_ENV = 'production';
  const { build } = await import('vite');
  await build({ configFile: join(web, 'vite.config.ts'), mode: 'production', logLevel: 'warn' });
}

function viteInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('vite/package.json');
    return true;
  } catch {
    return false;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const onlyIfStale = process.argv.includes('--if-stale');
  if (onlyIfStale && !isStale()) process.exit(0);
  if (!viteInstalled()) {
    console.warn('console: Vite is not installed (dev dependencies left out): the API runs without the web console');
    process.exit(0);
  }
  console.log('console: building web/dist …');
  await buildConsole();
  console.log('console: built');
}
