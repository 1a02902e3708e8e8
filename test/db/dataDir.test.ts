/** The data folder (embedded database, webhook secret) is readable by its owner only, whatever the umask. */
import { chmod, lstat, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { orderDelivery } from '../../support/deliveries.ts';
import { exited, startServerProcess, type ServerProcess } from '../helpers/process.ts';
import { deliver } from '../../support/server.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Every path under `directory` (itself included) with its permission bits. */
async function modes(directory: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const pending = [directory];
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    const stats = await lstat(current);
    found.set(path.relative(directory, current) || '.', stats.mode & 0o777);
    if (stats.isDirectory()) for (const name of await readdir(current)) pending.push(path.join(current, name));
  }
  return found;
}

const groupOrWorldAccessible = (found: Map<string, number>) =>
  [...found].filter(([, mode]) => (mode & 0o077) !== 0).map(([file, mode]) => `${file} ${mode.toString(8)}`);

/** Runs the server as `npm start` does, on the embedded database in `dataDir`, under umask 022; stops it after `use`. */
async function runServer(dataDir: string, use: (url: string) => Promise<void>): Promise<void> {
  const previous = process.umask(0o022);
  let server: ServerProcess | undefined;
  try {
    // An empty DATABASE_URL selects the embedded database even in CI; an empty WEBHOOK_SECRET makes it generate one.
    server = await startServerProcess({ DATA_DIR: dataDir, DATABASE_URL: '', WEBHOOK_SECRET: '' });
  } finally {
    process.umask(previous);
  }
  const { child } = server;
  cleanups.push(async () => {
    child.kill('SIGKILL');
    await exited(child);
  });
  try {
    await use(server.url);
  } finally {
    child.kill('SIGTERM');
    await exited(child);
  }
}

async function storeOneDelivery(url: string, dataDir: string, id: string): Promise<void> {
  const token = (await readFile(path.join(dataDir, 'webhook-secret'), 'utf8')).trim();
  expect((await deliver(url, orderDelivery(id, [{ id: `${id}_a0`, turns: 20 }], 0), { token })).status).toBe(200);
}

describe('the data folder', () => {
  it('is created 0700 with nothing in it open to group or world under umask 022; older, looser folders are tightened', async () => {
    const parent = await mkdtemp(path.join(tmpdir(), 'callboard-datadir-'));
    cleanups.push(() => rm(parent, { recursive: true, force: true, maxRetries: 5 }));
    const dataDir = path.join(parent, 'data');

    await runServer(dataDir, (url) => storeOneDelivery(url, dataDir, 'call_private_1'));
    const created = await modes(dataDir);
    expect(created.size).toBeGreaterThan(100);
    expect(created.get('.')).toBe(0o700);
    expect(created.get('webhook-secret')).toBe(0o600);
    expect(groupOrWorldAccessible(created)).toEqual([]);

    // As an older version left it: everything open to everyone.
    for (const [file, mode] of created) await chmod(path.join(dataDir, file), mode & 0o100 ? 0o777 : 0o666);
    expect(groupOrWorldAccessible(await modes(dataDir)).length).toBe(created.size);

    await runServer(dataDir, (url) => storeOneDelivery(url, dataDir, 'call_private_2'));
    expect(groupOrWorldAccessible(await modes(dataDir))).toEqual([]);
  });
});
