// Writing files so that a crash leaves either the old file or the new one, never a part of it.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes a file whole or not at all: a temporary file beside it, synced, then renamed over the name.
 * The rename is durable once the folder is synced too (syncFolder). The text may come in pieces.
 */
export function writeDurably(dir: string, name: string, text: string | Iterable<string>, mode?: number): void {
  const tmp = join(dir, name + '.tmp');
  const fd = openSync(tmp, 'w', mode);
  try {
    try {
      // Text in pieces is written piece by piece (a report can be longer than one string may be).
      for (const piece of typeof text === 'string' ? [text] : text) {
        const bytes = Buffer.from(piece, 'utf8');
        for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, name));
  } catch (e) {
    // A write that failed (a full disk) gives back the space it took.
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Makes the renames in a folder durable. */
export function syncFolder(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** writeDurably and syncFolder in one, off the event loop: for a large file written while trading goes on. */
export async function writeDurablyInBackground(dir: string, name: string, text: string): Promise<void> {
  const tmp = join(dir, name + '.tmp');
  try {
    const file = await open(tmp, 'w');
    try {
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, join(dir, name));
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  const folder = await open(dir, 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
