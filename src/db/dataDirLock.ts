/**
 * The embedded database (PGlite) admits one process at a time: a second one opening the same folder corrupts it.
 * The process that opens it holds a lock file in the data folder with its pid; another process (the server, `npm run
 * sync`, `npm run replay`) is refused with a message that says who holds it. A lock left by a process that died is
 * taken over.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';

const LOCK_FILE = 'callboard.lock';

interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

export interface DataDirLock {
  release(): Promise<void>;
}

export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
}

/** Takes the data folder's lock, or throws DataDirInUseError naming the process that holds it. */
export async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
  const file = path.join(dataDir, LOCK_FILE);
  const mine: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const text = JSON.stringify(mine);
  for (;;) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(text);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = await readOwner(file);
    if (owner && holds(owner)) {
      throw new DataDirInUseError(
        `the embedded database in ${dataDir} is in use by process ${owner.pid} (since ${owner.since}). ` +
          'It admits one process at a time: stop the server (or the other command) first, or use PostgreSQL (DATABASE_URL).',
      );
    }
    // Left by a process that died: take it over (another process doing the same at once loses the `wx` race).
    await unlink(file).catch(() => {});
  }
  return {
    async release() {
      const owner = await readOwner(file);
      if (owner?.pid === mine.pid && owner.since === mine.since) await unlink(file).catch(() => {});
    },
  };
}

async function readOwner(file: string): Promise<LockOwner | null> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<LockOwner>;
    return typeof parsed.pid === 'number' && typeof parsed.host === 'string' ? { pid: parsed.pid, host: parsed.host, since: String(parsed.since) } : null;
  } catch {
    // Unreadable or half-written: treated as left by a process that died.
    return null;
  }
}

/** Whether the owner still runs. A lock from another host (a shared folder) is respected: its pid cannot be checked. */
function holds(owner: LockOwner): boolean {
  return owner.host !== hostname() || processIsRunning(owner.pid);
}

/** Whether a process with this pid runs on this machine. */
export function processIsRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
