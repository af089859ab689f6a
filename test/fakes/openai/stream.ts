/** Plays a list of SSE events onto a response, with the stream faults of a Behavior. */
import type { ServerResponse } from 'node:http';
import type { Behavior } from './behavior.ts';
import { errors } from './errors.ts';

export interface StreamPlan {
  events: string[];
  /** After the events: end the body, close the connection mid-body, or keep it open forever. */
  ending: 'end' | 'reset' | 'stall';
}

/** What a response's state is, shared with the server's close handler. */
export interface Exchange {
  start: number;
  closed: boolean;
  streaming: boolean;
  resetByFake: boolean;
  timer: NodeJS.Timeout | undefined;
}

export const MALFORMED_EVENT = 'data: {malformed\n\n';

/** Applies no-done, garbage-after and the first of error-after / reset-after / stall-after. */
export function shapeStream(events: string[], behavior: Behavior): StreamPlan {
  let shaped = behavior.noDone ? events.slice(0, -1) : events;
  const garbage = behavior.garbageAfter;
  if (garbage !== undefined) shaped = [...shaped.slice(0, garbage), MALFORMED_EVENT, ...shaped.slice(garbage)];
  const cuts = (
    [
      [behavior.errorAfter, 'error'],
      [behavior.resetAfter, 'reset'],
      [behavior.stallAfter, 'stall'],
    ] as const
  ).filter((cut): cut is readonly [number, 'error' | 'reset' | 'stall'] => cut[0] !== undefined);
  if (cuts.length === 0) return { events: shaped, ending: 'end' };
  const [at, kind] = cuts.reduce((a, b) => (b[0] < a[0] ? b : a));
  const kept = shaped.slice(0, at);
  if (kind === 'error')
    return {
      events: [...kept, `data: ${JSON.stringify({ error: errors.inStream(behavior.message, behavior.code) })}\n\n`],
      ending: 'end',
    };
  return { events: kept, ending: kind };
}

/**
 * Writes the headers (when `headers`) and `data`, then closes the connection under `res` once they
 * are flushed: a FIN (mid-body when headers were sent: the client gets the data, then a premature
 * end), or with `rst` a TCP RST (the client's kernel reports ECONNRESET or an abrupt end).
 */
export function resetConnection(
  res: ServerResponse,
  ex: Exchange,
  data: string,
  options: { rst: boolean; headers: boolean },
): void {
  const socket = res.socket;
  ex.resetByFake = true;
  if (!socket) return;
  const close = () => (options.rst ? socket.resetAndDestroy() : socket.destroySoon());
  if (data) res.write(data, close);
  else if (options.headers) {
    res.flushHeaders();
    socket.write('', close);
  } else close();
}

/** Writes the plan: all at once when there is no chunk delay, else one event, then one per `chunkDelay` ms. */
export function playStream(
  res: ServerResponse,
  ex: Exchange,
  plan: StreamPlan,
  behavior: Behavior,
  onReset: () => void,
): void {
  const finish = (data: string) => {
    if (ex.closed) return;
    switch (plan.ending) {
      case 'end':
        res.end(data);
        break;
      case 'stall':
        if (data) res.write(data);
        else res.flushHeaders();
        break;
      case 'reset':
        onReset();
        resetConnection(res, ex, data, { rst: behavior.rst === true, headers: true });
        break;
    }
  };
  const delay = behavior.chunkDelay ?? 0;
  const { events } = plan;
  if (delay === 0 || events.length <= 1) {
    finish(events.join(''));
    return;
  }
  let i = 0;
  const step = () => {
    ex.timer = undefined;
    if (ex.closed) return;
    if (i === events.length - 1) return finish(events[i]!);
    res.write(events[i++]!);
    ex.timer = setTimeout(step, delay);
  };
  step();
}
