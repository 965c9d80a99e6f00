// The requests of one HTTP/1.1 connection take effect in the order they arrived. A client may
// pipeline: send a modification and a cancel one after the other without waiting for the first
// answer. Node parses both at once and answers them in order, but a request with a body waits for
// its body to be read while one without a body goes straight on, so the cancel used to be applied
// first (and the modification refused, its order no longer open) though it was sent second.
//
// Each request takes a place in its connection's line when it arrives (onRequest). It may act (its
// handler runs, after its body was read and validated) only once every request before it on the
// connection has passed: submitted its command (http.ts `submit`, where the sequence number is
// taken) or been answered (onSend), a read included. A request alone on its connection, which is
// every request of a client that waits for its answers, never waits: the check is two numbers.
import type { FastifyRequest } from 'fastify';

/** One connection's line: places given out, how many of the first have passed, and who waits. */
interface Line {
  /** Places given out so far. */
  given: number;
  /** Places 0 … passed − 1 have all passed. */
  passed: number;
  /** Places beyond `passed` that passed out of turn (a refusal answered while its elder's body was read). */
  early: Set<number> | null;
  /** The requests waiting for their turn, by place. */
  waiting: Map<number, () => void> | null;
  /** The connection closed: nothing more can be answered on it, and nothing waits for an elder. */
  closed: boolean;
}

const LINE = Symbol('arrival line');

declare module 'fastify' {
  interface FastifyRequest {
    /** Its connection's line (arrivalOrder.ts), or null before it took a place. */
    line: Line | null;
    /** Its place in the line; −1 once it passed. */
    place: number;
  }
}

/** Takes the request's place in its connection's line (an onRequest hook, the first). */
export function arrive(req: FastifyRequest): void {
  const socket = req.raw.socket as (typeof req.raw.socket & { [LINE]?: Line }) | null;
  if (socket === null) return;
  let line = socket[LINE];
  if (line === undefined) {
    const made: Line = { given: 0, passed: 0, early: null, waiting: null, closed: false };
    socket[LINE] = line = made;
    // Requests that wait on a connection gone (their elders' answers could not be sent) still act,
    // as any request whose client left does, in their order.
    socket.once('close', () => {
      made.closed = true;
      const waiting = made.waiting;
      made.waiting = null;
      if (waiting !== null) for (const place of [...waiting.keys()].sort((a, b) => a - b)) (waiting.get(place) as () => void)();
    });
  }
  req.line = line;
  req.place = line.given++;
}

/** Calls `go` once every request before this one on its connection has passed: at once, mostly. */
export function inTurn(req: FastifyRequest, go: () => void): void {
  const line = req.line;
  if (line === null || req.place === line.passed || line.closed) {
    go();
    return;
  }
  (line.waiting ??= new Map()).set(req.place, go);
}

/** The request has passed (submitted its command, or been answered): the next one may act. */
export function pass(req: FastifyRequest): void {
  const line = req.line;
  const place = req.place;
  if (line === null || place < 0) return;
  req.place = -1;
  if (place !== line.passed) {
    (line.early ??= new Set()).add(place);
    return;
  }
  line.passed++;
  while (line.early !== null && line.early.delete(line.passed)) line.passed++;
  const next = line.waiting?.get(line.passed);
  if (next !== undefined) {
    (line.waiting as Map<number, () => void>).delete(line.passed);
    // In a later microtask: a long pipeline would otherwise nest one handler inside another.
    queueMicrotask(next);
  }
}
