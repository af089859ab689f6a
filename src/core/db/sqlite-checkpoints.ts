import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * The checkpointer's thread: a connection of its own to the file, and a PASSIVE checkpoint (copy the
 * WAL's pages into the database file, then fsync) every `intervalMs`. Plain CommonJS run with `eval`,
 * so it needs no loader of ours.
 */
const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
const checkpoint = () => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy or closing: the next one */ } };
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.once('message', () => { clearInterval(timer); checkpoint(); db.close(); parentPort.close(); });
`;

export interface Checkpoints {
  stop(): Promise<void>;
}

/**
 * Moves SQLite's WAL checkpoints off the event loop. SQLite checkpoints inside the commit that fills
 * the WAL past 1000 pages: a few MB written and two fsyncs, during which nothing else runs (at 32
 * concurrent calls, ~12 % of the gateway's time went into commits). Here `connection` stops doing
 * that and a worker thread checkpoints every `intervalMs` on a connection of its own, while the
 * main connection carries on; should the worker die, `connection` checkpoints for itself again.
 */
export function checkpointInBackground(
  connection: { pragma(source: string): unknown },
  file: string,
  intervalMs = 200,
): Checkpoints {
  connection.pragma('wal_autocheckpoint = 0');
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { file, driver: createRequire(import.meta.url).resolve('better-sqlite3'), intervalMs },
  });
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.once('error', () => connection.pragma('wal_autocheckpoint = 1000'));
  return {
    async stop() {
      worker.ref(); // until it has gone: waiting on an unreferenced thread would let the process end mid-way
      worker.postMessage('stop');
      await exited;
    },
  };
}
