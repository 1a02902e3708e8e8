/**
 * The commands as an operator runs them from a shell that may lack the server's environment: each says which
 * database it uses; keys, erase and replay refuse to create an embedded one; db:migrate may; the server's env file,
 * loaded the two ways docs/production.md shows, points them at the server's database; and while the server holds
 * the embedded database, each names what does the same on the running server.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../support/database.ts';
import { exited, startServerProcess } from '../helpers/process.ts';

const folders: string[] = [];
afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true, maxRetries: 5 });
});

async function folder(): Promise<string> {
  const made = await mkdtemp(path.join(tmpdir(), 'callboard-commands-'));
  folders.push(made);
  return made;
}

/** Runs `file` with `args`, with `env` over a shell's environment that has no Callboard settings. */
async function run(file: string, args: string[], env: Record<string, string>) {
  const { DATABASE_URL: _url, DATA_DIR: _dir, ...shell } = process.env;
  return promisify(execFile)(file, args, { env: { ...shell, ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

const script = (name: string, args: string[], env: Record<string, string>) =>
  run(process.execPath, ['--import', 'tsx', `scripts/${name}.ts`, ...args], env);

describe('which database a command uses', () => {
  it('keys, erase and replay refuse a DATA_DIR without a database, and create nothing', async () => {
    const dataDir = path.join(await folder(), 'data');
    for (const [name, args] of [
      ['keys', ['list']],
      ['erase', ['--phone', '+33612345678', '--dry-run']],
      ['replay', []],
    ] as const) {
      const refused = await script(name, [...args], { DATA_DIR: dataDir });
      expect(refused.code, name).toBe(2);
      expect(refused.stdout, name).toBe('');
      expect(refused.stderr, name).toBe(
        `No database in DATA_DIR ${dataDir}, and DATABASE_URL is not set: npm run ${name} works on the server's database and will not create an empty one. ` +
          "Run it with the server's settings: set DATABASE_URL (PostgreSQL) or DATA_DIR as the server has them, e.g. by loading its environment file first: set -a; . /etc/callboard.env; set +a\n",
      );
      await expect(stat(dataDir)).rejects.toMatchObject({ code: 'ENOENT' });
    }
  });

  it('db:migrate creates the embedded database and says so, with DATA_DIR made absolute; then the others use it', async () => {
    const dataDir = path.join(await folder(), 'data');
    const relative = { DATA_DIR: path.relative(process.cwd(), dataDir) };
    const created = await script('db-migrate', [], relative);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toBe(`Creating the embedded database in ${dataDir}\n`);
    const listed = await script('keys', ['list'], relative);
    expect(listed).toEqual({ code: 0, stdout: 'No API keys yet.\n', stderr: `Using the embedded database in ${dataDir}\n` });
  });

  it('names a PostgreSQL server by host, port and database, never by its password', async () => {
    const unreachable = await script('keys', ['list'], { DATABASE_URL: 'postgres://callboard:s3cret-pw@127.0.0.1:1/callboard' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^Using PostgreSQL at 127\.0\.0\.1:1\/callboard\nFailed: /);
    expect(unreachable.stderr).not.toContain('s3cret-pw');
    const socket = await script('keys', ['list'], { DATABASE_URL: 'postgres:///callboard?host=/nonexistent' });
    expect(socket.stderr).toMatch(/^Using PostgreSQL at \/nonexistent:5432\/callboard\n/);
  });
});

describe("the server's env file", () => {
  it('points the commands at the server database, loaded with node --env-file or with set -a in a shell', async () => {
    const database = await createTestDatabase();
    try {
      const settings = { DATA_DIR: database.dataDir, ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}) };
      const envFile = path.join(await folder(), 'callboard.env');
      await writeFile(
        envFile,
        Object.entries(settings)
          .map(([name, value]) => `${name}=${value}\n`)
          .join(''),
      );
      const using = database.databaseUrl ? /^Using PostgreSQL at / : `Using the embedded database in ${database.dataDir}\n`;

      const migrated = await run(process.execPath, [`--env-file=${envFile}`, '--import', 'tsx', 'scripts/db-migrate.ts'], {});
      expect(migrated.code, migrated.stderr).toBe(0);
      const created = await run(
        'sh',
        ['-c', `set -a; . ${envFile}; set +a; exec npm run --silent keys -- create --name admin --scope admin`],
        {},
      );
      expect(created.code, created.stderr).toBe(0);
      expect(created.stderr).toMatch(using);
      expect(created.stdout).toMatch(/^cb_/);
      const listed = await run(process.execPath, [`--env-file=${envFile}`, '--import', 'tsx', 'scripts/keys.ts', 'list'], {});
      expect(listed.stdout).toMatch(/^admin\s+cb_/m);
    } finally {
      await database.dispose();
    }
  });
});

describe('while the server holds the embedded database', () => {
  it('keys, erase and replay name what does the same on the running server', async () => {
    const dataDir = await folder();
    const env = { DATA_DIR: dataDir };
    const server = await startServerProcess({ ...env, DATABASE_URL: '' });
    try {
      for (const [name, args, alternative] of [
        ['keys', ['list'], 'the createApiKey and revokeApiKey mutations and the apiKeys query do the same on the running server'],
        ['erase', ['--phone', '+33612345678'], 'the eraseCalls mutation does the same on the running server'],
        ['replay', [], 'No mutation replays deliveries on a running server: stop it for the replay'],
      ] as const) {
        const refused = await script(name, [...args], env);
        expect(refused.code, name).toBe(1);
        expect(refused.stderr, name).toContain(`is in use by process ${server.child.pid}`);
        expect(refused.stderr, name).toContain(alternative);
      }
    } finally {
      server.child.kill('SIGTERM');
      await exited(server.child);
    }
  });
});
