/**
 * The data folder holds the embedded database and the webhook secret: only its owner may read it. The folder's
 * own mode (0700) keeps everyone else out; the modes of what it holds are tightened too, for folders made by older
 * versions and for the files PGlite chmods to 0666 itself (see database.ts).
 */
import { chmod, lstat, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';

const GROUP_AND_OTHERS = 0o077;

/** Creates `directory` (mode 0700) if needed and removes group and others' access from everything in it. */
export async function makePrivateDirectory(directory: string): Promise<void> {
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const pending = [directory];
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    // lstat: a symbolic link is left alone, and never followed out of the folder.
    const stats = await lstat(current);
    if (stats.isSymbolicLink()) continue;
    if ((stats.mode & GROUP_AND_OTHERS) !== 0) await chmod(current, stats.mode & 0o7777 & ~GROUP_AND_OTHERS);
    if (stats.isDirectory()) {
      for (const name of await readdir(current)) pending.push(path.join(current, name));
    }
  }
}
