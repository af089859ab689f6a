import type { LoadContext, Operation } from './operation.ts';

export interface DriveOptions {
  operations: Operation[];
  /** Calls in flight at once. */
  workers: number;
  /** Stop after this many operations in all. */
  total: number;
  /** Instances to spread the load over (indexes into the cluster). */
  instances: number[];
}

function choose(operations: Operation[]): Operation {
  let roll = Math.random() * operations.reduce((sum, op) => sum + op.weight, 0);
  for (const op of operations) {
    roll -= op.weight;
    if (roll < 0) return op;
  }
  return operations.at(-1)!;
}

/**
 * Runs the mixed load: `workers` loops, each picking an operation by weight and an instance at random.
 * An operation that throws (a set-up step inside it failed) is a violation, not the end of the load.
 * Returns how many operations ran.
 */
export async function drive(ctx: LoadContext, options: DriveOptions): Promise<number> {
  let started = 0;
  const worker = async () => {
    while (started < options.total) {
      started += 1;
      const op = choose(options.operations);
      const instance = options.instances[Math.floor(Math.random() * options.instances.length)]!;
      try {
        await op.run(ctx, instance);
      } catch (error) {
        ctx.cluster.tally.violation(`${op.name} on instance ${instance} threw: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.workers }, worker));
  return started;
}
