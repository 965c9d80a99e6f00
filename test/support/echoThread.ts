// A thread for test/persistence/moduleThread.test.ts: answers `echo <body>`, throws when asked to
// ("throw"), stops its thread when asked to ("die", exit code 3), and fails outside any answer
// ("crash": an answer that cannot be sent, an uncaught error, then the thread's end).
import { serve } from '../../persistence/moduleThread.ts';

serve((body: string): unknown => {
  if (body === 'die') process.exit(3);
  if (body === 'throw') throw new Error('asked to throw');
  if (body === 'crash') return () => 'a function is not a message';
  return `echo ${body}`;
}, () => {});
