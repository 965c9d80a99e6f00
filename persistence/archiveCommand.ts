// `npm run archive -- --data DIR`: moves what the newest sound snapshot makes unnecessary for
// start-up into DIR/archive/. Run it while the exchange is stopped.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { archive } from './archive.ts';

const { values } = parseArgs({ options: { data: { type: 'string', default: process.env.DATA_DIR ?? 'data' } } });
try {
  const r = archive(resolve(values.data));
  process.stdout.write(`archived ${r.commands} commands in ${r.batches} batches${r.file ? ` to ${r.file}` : ''} and ${r.snapshotsMoved} older snapshots; the exchange now starts from the snapshot at seq ${r.snapshotSeq}\n`);
} catch (e) {
  process.stderr.write(`archive: ${(e as Error).message}\n`);
  process.exit(1);
}
