// A worker thread running one of the exchange's modules, asked one request at a time: the
// settlement thread, the snapshot thread and the past days' thread are all this. Requests are answered in the order sent.
// Idle, the thread never keeps the process alive; a thread that fails (or cannot load) fails what
// it was asked, and the next request starts another.
//
// The thread loads TypeScript modules through tsx's API, as the exchange itself is loaded: a worker
// does not inherit the --import hooks on Node 20.
import { parentPort, Worker } from 'node:worker_threads';

type Pending<R> = { resolve: (value: R) => void; reject: (e: Error) => void };
type Answer<R> = { id: number; value: R } | { id: number; error: string };

export class ModuleThread<Q, R> {
  private worker: Worker | null = null;
  /** The current thread's requests not answered yet. */
  private pending = new Map<number, Pending<R>>();
  private nextId = 1;

  /** `entry`: the module the thread runs, which answers with serve(). */
  constructor(private readonly entry: URL, private readonly workerData: unknown, private readonly name: string) {}

  request(body: Q): Promise<R> {
    return new Promise((resolve, reject) => {
      // A thread that cannot even be made fails this request, never its caller's turn.
      const worker = this.worker ?? this.start();
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, body });
    });
  }

  private start(): Worker {
    const api = import.meta.resolve('tsx/esm/api');
    const entry = this.entry.href;
    const worker = new Worker(`import(${JSON.stringify(api)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(entry)}))`, {
      eval: true, workerData: this.workerData,
    });
    // This thread's own requests: when it fails, it fails those, not the next thread's.
    const pending = new Map<number, Pending<R>>();
    worker.on('message', (m: Answer<R> | 'closed') => {
      if (typeof m === 'string') return;
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (pending.size === 0) worker.unref();
      if (p === undefined) return;
      if ('error' in m) p.reject(new Error(m.error));
      else p.resolve(m.value);
    });
    // What the thread failed with; not always an Error once passed from the thread (a DataCloneError arrives as {}).
    let failure: { message?: unknown } | null = null;
    worker.on('error', (e: unknown) => {
      failure ??= typeof e === 'object' && e !== null ? e : { message: e };
      if (this.worker === worker) this.worker = null;
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = null;
      const why = failure === null ? null : typeof failure.message === 'string' && failure.message !== '' ? failure.message : 'an error it could not pass on';
      const e = new Error(why === null ? `the ${this.name} thread stopped (exit code ${code})` : `the ${this.name} thread failed: ${why} (exit code ${code})`);
      for (const p of pending.values()) p.reject(e);
      pending.clear();
    });
    this.worker = worker;
    this.pending = pending;
    return worker;
  }

  /** Lets the requests already sent be answered, then lets the thread close what it opened, and ends it. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (worker === null) return;
    this.worker = null;
    worker.ref();
    await new Promise<void>((resolve) => {
      worker.on('message', (m) => { if (m === 'closed') resolve(); });
      worker.on('exit', () => resolve());
      worker.postMessage('close');
    });
    await worker.terminate();
  }
}

/** The thread's side: answers each request with `handle` (or the message of what it threw); `close` once asked to end. */
export function serve<Q, R>(handle: (body: Q) => R, close: () => void): void {
  const port = parentPort;
  if (port === null) throw new Error('serve() runs in a worker thread');
  port.on('message', (m: { id: number; body: Q } | 'close') => {
    if (m === 'close') {
      close();
      port.postMessage('closed');
      return;
    }
    let answer: Answer<R>;
    try {
      answer = { id: m.id, value: handle(m.body) };
    } catch (e) {
      answer = { id: m.id, error: (e as Error).message };
    }
    port.postMessage(answer);
  });
}
