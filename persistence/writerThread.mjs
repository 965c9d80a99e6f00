// Entry of the journal's writer thread. A worker does not inherit the main thread's TypeScript
// loader, so it registers tsx itself before loading the thread's code (writerThread.ts).
import { register } from 'tsx/esm/api';

register();
await import('./writerThread.ts');
