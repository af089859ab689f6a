/**
 * `npm run console:size`: builds the console, then prints the JavaScript the first page loads (the entry
 * script and what index.html preloads) gzipped, and every route chunk. Fails above the 350 KB budget.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildConsole } from './build.ts';

const BUDGET_KB = 350;
const web = join(import.meta.dirname, '..');
const dist = join(web, 'dist');

if (!process.argv.includes('--no-build')) await buildConsole();

const gzipKb = (file: string) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length / 1024;
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const first = [...html.matchAll(/<(?:script[^>]*\bsrc|link[^>]*rel="modulepreload"[^>]*\bhref)="\/([^"]+\.js)"/g)].map(
  (m) => m[1]!,
);
const firstKb = first.reduce((sum, file) => sum + gzipKb(file), 0);

const chunks = readdirSync(join(dist, 'assets'))
  .filter((name) => name.endsWith('.js'))
  .map((name) => ({ name, kb: gzipKb(join('assets', name)) }))
  .sort((a, b) => b.kb - a.kb);
const allKb = chunks.reduce((sum, c) => sum + c.kb, 0);

console.log(`first page JavaScript: ${firstKb.toFixed(1)} KB gzipped (budget ${BUDGET_KB} KB)`);
for (const file of first) console.log(`  ${file}  ${gzipKb(file).toFixed(1)} KB`);
console.log(
  `all JavaScript: ${allKb.toFixed(1)} KB gzipped in ${chunks.length} chunks, loaded page by page; the largest:`,
);
for (const chunk of chunks.slice(0, 8)) console.log(`  assets/${chunk.name}  ${chunk.kb.toFixed(1)} KB`);
if (firstKb > BUDGET_KB) {
  console.error(`the first page's JavaScript is over the ${BUDGET_KB} KB budget`);
  process.exit(1);
}
