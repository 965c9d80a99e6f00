// A worker thread running one of the exchange's modules, asked one request at a time: the
// settlement thread and the snapshot thread are both this. Requests are answered in the order sent.
// Idle, the thread never keeps the process alive; a thread that fails (or cannot load) fails what
// it was asked, and the next request starts another.
//
// The thread loads TypeScript modules through tsx's API, as the exchange itself is loaded: a worker
// does not inherit the --import hooks on Node 20.
import { parentPort, Worker } from 'node:worker_threads';

type Answer<R> = { id: number; value: R } | { id: number; error: string };

export class ModuleThread<Q, R> {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: R) => void; reject: (e: Error) => void }>();

  /** `entry`: the module the thread runs, which answers with serve(). */
  constructor(private readonly entry: URL, private readonly workerData: unknown, private readonly name: string) {}

  request(body: Q): Promise<R> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
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
    worker.on('message', (m: Answer<R> | 'closed') => {
      if (typeof m === 'string') return;
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      if ('error' in m) p.reject(new Error(m.error));
      else p.resolve(m.value);
    });
    const lost = (e: Error) => {
      if (this.worker === worker) this.worker = null;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`the ${this.name} thread stopped (exit code ${code})`)));
    this.worker = worker;
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
