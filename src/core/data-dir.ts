import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What Tollgate keeps on disk (the outbox with its sign-up and reset codes, the generated secrets, the
 * SQLite database) is for the account that runs it alone: folders 0700, files 0600. Modes given at
 * creation only apply to new files, so start-up also narrows what an older version left wider.
 */
export const OWNER_ONLY_DIR = 0o700;
export const OWNER_ONLY_FILE = 0o600;

/** The files of DATA_DIR that hold codes or secrets. */
export const DATA_FILES = ['outbox.jsonl', 'secrets.json'] as const;

/** Creates `dir` (and any missing parents) readable by the owner only. */
export function makeOwnerOnlyDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: OWNER_ONLY_DIR });
}

/** Creates `file` empty if it does not exist, and makes it readable by the owner only either way. */
export function makeOwnerOnlyFile(file: string): void {
  closeSync(openSync(file, 'a', OWNER_ONLY_FILE));
  chmodSync(file, OWNER_ONLY_FILE);
}

/** Makes each of `files` that exists readable by the owner only. */
export function narrowExisting(files: readonly string[]): void {
  for (const file of files) if (existsSync(file)) chmodSync(file, OWNER_ONLY_FILE);
}

/** Start-up: DATA_DIR exists and is the owner's alone, and so are the files in it that hold codes or secrets. */
export function secureDataDir(dir: string): void {
  makeOwnerOnlyDir(dir);
  chmodSync(dir, OWNER_ONLY_DIR);
  narrowExisting(DATA_FILES.map((name) => join(dir, name)));
}
