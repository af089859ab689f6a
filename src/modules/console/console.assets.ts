import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

/** One file of the built console, held in memory with its gzip form (the bundle is a few MB at most). */
export interface ConsoleFile {
  body: Buffer;
  gzipped: Buffer | undefined;
  type: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
};
/** Text is worth compressing; images and fonts are compressed already. */
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.svg', '.txt']);

/**
 * The built console (`index.html` and its hashed assets), read once at start. Serving from this map,
 * keyed by the URL path each file is built for, means a request can only ever get one of these files:
 * no path from a URL is joined onto the disk.
 */
export class ConsoleBundle {
  private constructor(
    readonly index: ConsoleFile | undefined,
    private readonly files: ReadonlyMap<string, ConsoleFile>,
  ) {}

  /** The bundle in `dir`; an empty one (no index) when the console has not been built. */
  static load(dir: string): ConsoleBundle {
    if (!existsSync(join(dir, 'index.html'))) return new ConsoleBundle(undefined, new Map());
    const files = new Map<string, ConsoleFile>();
    for (const path of walk(dir)) {
      const url = '/' + relative(dir, path).split(sep).join('/');
      const type = TYPES[extname(path).toLowerCase()];
      if (!type || url === '/index.html') continue;
      files.set(url, fileOf(readFileSync(path), extname(path).toLowerCase(), type));
    }
    const index = fileOf(readFileSync(join(dir, 'index.html')), '.html', TYPES['.html']!);
    return new ConsoleBundle(index, files);
  }

  get built(): boolean {
    return this.index !== undefined;
  }

  /** The file built for this URL path (`/assets/index-AbC123.js`), if any. */
  file(path: string): ConsoleFile | undefined {
    return this.files.get(path);
  }

  /** The URL path of every built file besides index.html. */
  urls(): string[] {
    return [...this.files.keys()];
  }
}

function fileOf(body: Buffer, ext: string, type: string): ConsoleFile {
  return {
    body,
    type,
    gzipped: COMPRESSIBLE.has(ext) && body.length > 1024 ? gzipSync(body, { level: 9 }) : undefined,
  };
}

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}
