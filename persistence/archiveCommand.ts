// `npm run archive -- --data DIR`: moves what the newest sound snapshot makes unnecessary for
// start-up into DIR/archive/. Run it while the exchange is stopped (it refuses a directory an
// exchange is running on). Whatever goes wrong is said in one line, `archive: …`, with exit code 1.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { archive } from './archive.ts';

const fail = (e: unknown): never => {
  process.stderr.write(`archive: ${((e as Error).message ?? String(e)).replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(1);
};
if (process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
  process.stdout.write('usage: npm run archive -- [--data DIR]   (DATA_DIR; default data), with the exchange stopped\n');
  process.exit(0);
}
const dataDir = (() => {
  try {
    const { values, tokens } = parseArgs({ options: { data: { type: 'string', default: process.env.DATA_DIR || 'data' } }, tokens: true });
    // As the exchange's start has it: a flag given twice is a mistake, not a choice of the last one.
    if (tokens.filter((tk) => tk.kind === 'option' && tk.name === 'data').length > 1) throw new Error('--data is given more than once: give it once');
    if (values.data === '') throw new Error('--data needs a value, not an empty one');
    return resolve(values.data);
  } catch (e) {
    return fail(e);
  }
})();
try {
  const r = archive(dataDir);
  process.stdout.write(`archived ${r.commands} commands in ${r.batches} batches${r.file ? ` to ${r.file}` : ''} and ${r.snapshotsMoved} older snapshots; the exchange now starts from the snapshot at seq ${r.snapshotSeq}\n`);
} catch (e) {
  fail(e);
}
