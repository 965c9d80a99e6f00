// A data directory as the first journal format (schema 1) left it: one journal row per command.
// The exchange reads schema 3 (bringing a schema 2 journal to 3), never 1; the tests use this to check that it refuses and touches nothing.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

export function writeSchema1Journal(dir: string, genesis: unknown, commands: readonly { seq: number; time: number }[]): void {
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, 'journal.sqlite'));
  db.pragma('journal_mode = WAL');
  db.exec(`
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE journal (seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, batch INTEGER NOT NULL, command TEXT NOT NULL, crc INTEGER NOT NULL);
    CREATE TABLE facts (seq INTEGER NOT NULL, idx INTEGER NOT NULL, type TEXT NOT NULL, date TEXT, body TEXT NOT NULL, PRIMARY KEY (seq, idx));
    CREATE TABLE snapshots (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, file TEXT NOT NULL, crc INTEGER NOT NULL, taken INTEGER NOT NULL);`);
  db.prepare("INSERT INTO meta VALUES ('schema_version', '1'), ('genesis', ?)").run(JSON.stringify(genesis));
  const insert = db.prepare('INSERT INTO journal VALUES (?, ?, 1, ?, ?)');
  for (const c of commands) {
    const text = JSON.stringify(c);
    insert.run(c.seq, c.time, text, crc32(`${c.seq}|${c.time}|${text}`));
  }
  db.close();
}
