/** The embedded database's lock file: one process at a time, and a lock left by a dead process is taken over. */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireDataDirLock, DataDirInUseError } from '../../src/db/dataDirLock.ts';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'callboard-lock-'));
});
afterEach(() => rm(dataDir, { recursive: true, force: true }));

const lockFile = () => path.join(dataDir, 'callboard.lock');

describe('acquireDataDirLock', () => {
  it('refuses a second holder while the first holds it, naming the holder; free again once released', async () => {
    const lock = await acquireDataDirLock(dataDir);
    expect(JSON.parse(await readFile(lockFile(), 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    const error = await acquireDataDirLock(dataDir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataDirInUseError);
    expect((error as Error).message).toContain(`is in use by process ${process.pid}`);
    await lock.release();
    await expect(readFile(lockFile())).rejects.toThrow(/ENOENT/);
    await (await acquireDataDirLock(dataDir)).release();
  });

  it('takes over a lock left by a process that died, or a half-written one', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    await writeFile(lockFile(), JSON.stringify({ pid: dead, host: hostname(), since: '2026-01-01T00:00:00.000Z' }));
    const lock = await acquireDataDirLock(dataDir);
    expect(JSON.parse(await readFile(lockFile(), 'utf8')).pid).toBe(process.pid);
    await lock.release();

    await writeFile(lockFile(), '{"pid":');
    await (await acquireDataDirLock(dataDir)).release();
  });
});
