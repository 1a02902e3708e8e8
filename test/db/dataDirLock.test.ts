/**
 * One process at a time on the embedded database: while the server holds DATA_DIR, `npm run db:migrate`,
 * `npm run replay` and a second server refuse with a message naming the holder; a lock left by a dead process is
 * taken over. Always on the embedded database (an empty DATABASE_URL selects it, in CI too): the lock is its own.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_FILE_NAME } from '../../src/db/dataDirLock.ts';
import { exited, spawnServer, startServerProcess } from '../helpers/process.ts';

const dataDirs: string[] = [];
afterAll(async () => {
  for (const dataDir of dataDirs) await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
});

async function embeddedDataDir() {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'callboard-lock-'));
  dataDirs.push(dataDir);
  return { dataDir, env: { DATA_DIR: dataDir, DATABASE_URL: '' } };
}

/** Runs a command-line tool as npm would; resolves with its exit code and output whatever the code. */
async function runScript(script: string, env: Record<string, string>) {
  const result = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
  return result;
}

describe('the DATA_DIR lock', () => {
  it('makes db:migrate, replay and a second server refuse while the server runs, and lets them run once it stops', async () => {
    const { dataDir, env } = await embeddedDataDir();
    const server = await startServerProcess(env);
    const lockFile = path.join(dataDir, LOCK_FILE_NAME);
    try {
      expect(JSON.parse(await readFile(lockFile, 'utf8'))).toMatchObject({ pid: server.child.pid });
      expect((await stat(lockFile)).mode & 0o777).toBe(0o600);
      const busy = new RegExp(
        `^DATA_DIR ${dataDir} is in use by process ${server.child.pid} \\(main\\.ts\\): the embedded database admits one process at a time\\. Stop that process`,
        'm', // after the line naming the database
      );

      for (const script of ['scripts/db-migrate.ts', 'scripts/replay.ts']) {
        const refused = await runScript(script, env);
        expect(refused.code, script).toBe(1);
        expect(refused.stderr, script).toMatch(busy);
        expect(refused.stderr, script).not.toMatch(/\n\s+at /); // no stack trace
        expect(refused.stdout, script).toBe('');
      }

      const second = spawnServer(env);
      let stderr = '';
      second.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      expect(await exited(second)).toBe(1);
      expect(stderr).toMatch(busy);

      // The server was not disturbed.
      expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    } finally {
      server.child.kill('SIGTERM');
      await exited(server.child);
    }
    await expect(stat(lockFile)).rejects.toMatchObject({ code: 'ENOENT' });

    const migrated = await runScript('scripts/db-migrate.ts', env);
    expect(migrated).toMatchObject({ code: 0, stdout: 'The database is up to date.\n' });
    const replayed = await runScript('scripts/replay.ts', env);
    expect(replayed).toMatchObject({ code: 0, stdout: 'Replayed 0 deliveries: 0 stored, 0 still rejected.\n' });
    await expect(stat(lockFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('takes over a lock whose process is gone (a server killed with SIGKILL)', async () => {
    const { dataDir, env } = await embeddedDataDir();
    const killed = await startServerProcess(env);
    killed.child.kill('SIGKILL');
    await exited(killed.child);
    const lockFile = path.join(dataDir, LOCK_FILE_NAME);
    expect(JSON.parse(await readFile(lockFile, 'utf8'))).toMatchObject({ pid: killed.child.pid });

    const migrated = await runScript('scripts/db-migrate.ts', env);
    expect(migrated).toMatchObject({ code: 0, stdout: 'The database is up to date.\n' });
    await expect(stat(lockFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('takes over a lock naming a pid that does not run, or holding something unreadable', async () => {
    const { dataDir, env } = await embeddedDataDir();
    const lockFile = path.join(dataDir, LOCK_FILE_NAME);
    const finished = spawnSync(process.execPath, ['-e', '']);
    for (const stale of [JSON.stringify({ pid: finished.pid, program: 'main.ts' }), 'garbage']) {
      await writeFile(lockFile, stale);
      const migrated = await runScript('scripts/db-migrate.ts', env);
      expect(migrated.code, migrated.stderr).toBe(0);
      await expect(stat(lockFile)).rejects.toMatchObject({ code: 'ENOENT' });
    }
  });
});
