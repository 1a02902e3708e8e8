/**
 * The embedded database admits one process at a time: a second one opening the same files (a CLI next to the
 * running server) would corrupt them, or work on a copy the server then overwrites. Whoever opens it first writes
 * its pid to a lock file in DATA_DIR; anyone else is refused with a message saying who holds it. A lock left behind
 * by a process that died (SIGKILL, power loss) names a pid that no longer runs, and is taken over.
 */
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const LOCK_FILE_NAME = 'database.lock';

/** DATA_DIR is held by another process that is still running. */
export class DataDirBusyError extends Error {
  override name = 'DataDirBusyError';
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    program: string,
  ) {
    super(
      `DATA_DIR ${dataDir} is in use by process ${pid}${program ? ` (${program})` : ''}: the embedded database admits one ` +
        'process at a time. Stop that process (the server, with Ctrl-C or SIGTERM) and try again, or point every process ' +
        `at a PostgreSQL server with DATABASE_URL. If process ${pid} is not Callboard, delete ${path.join(dataDir, LOCK_FILE_NAME)}.`,
    );
  }
}

export interface DataDirLock {
  /** Removes the lock file, if it is still ours. */
  release(): Promise<void>;
}

interface LockContent {
  pid: number;
  program: string;
}

/** Takes DATA_DIR for this process (the folder must exist); throws DataDirBusyError while another live process holds it. */
export async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
  const lockPath = path.join(dataDir, LOCK_FILE_NAME);
  const content: LockContent = { pid: process.pid, program: path.basename(process.argv[1] ?? '') };
  // Two rounds at most: a stale lock is removed once; if another process takes it meanwhile, it wins.
  for (let round = 0; ; round++) {
    if (await createWithContent(lockPath, `${JSON.stringify(content)}\n`)) return { release: () => releaseIfOurs(lockPath) };
    const holder = await readHolder(lockPath);
    if (holder && processIsRunning(holder.pid)) throw new DataDirBusyError(dataDir, holder.pid, holder.program);
    if (round > 0) throw new Error(`Could not take over the stale lock ${lockPath}: another process keeps recreating it.`);
    await rm(lockPath, { force: true });
  }
}

/** Creates `file` with `text` in one step (written aside, then hard-linked), so no one ever reads it half-written. */
async function createWithContent(file: string, text: string): Promise<boolean> {
  const aside = `${file}.${process.pid}`;
  await writeFile(aside, text, { mode: 0o600 });
  try {
    await link(aside, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(aside, { force: true });
  }
}

async function readHolder(lockPath: string): Promise<LockContent | null> {
  try {
    const parsed = JSON.parse(await readFile(lockPath, 'utf8')) as Partial<LockContent>;
    return Number.isSafeInteger(parsed.pid) && parsed.pid! > 0 ? { pid: parsed.pid!, program: String(parsed.program ?? '') } : null;
  } catch {
    // Removed meanwhile, or not a lock this code wrote: nobody holds it.
    return null;
  }
}

/** Whether a process with this pid runs on this machine. */
export function processIsRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function releaseIfOurs(lockPath: string): Promise<void> {
  if ((await readHolder(lockPath))?.pid === process.pid) await rm(lockPath, { force: true });
}
