/**
 * A production install, done as docs/production.md says (npm ci, npm run build, npm prune --omit=dev) on a copy of
 * the working tree, starts and answers /health and /ready, its commands run, and it weighs no more than the README
 * says. It installs from npm's cache, which the run's own `npm ci` filled, and takes a minute or two: it runs in CI's
 * PostgreSQL pass only (CI=true and DATABASE_URL set), where the server starts on a fresh database in seconds.
 */
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { WEBHOOK_SECRET } from '../support/server.ts';
import { exited } from './helpers/process.ts';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('..', import.meta.url));

/** The README's figure for a production install, in MB. */
function documentedMegabytes(): number {
  const readme = readFileSync(path.join(repo, 'README.md'), 'utf8').replace(/\s+/g, ' ');
  const megabytes = /A production install \(the runtime dependencies only, `--omit=dev`\) weighs about (\d+) MB/.exec(readme)?.[1];
  if (!megabytes) throw new Error("README.md no longer states a production install's weight");
  return Number(megabytes);
}

/**
 * The environment of a command run in the copy: none of the `npm test` run's npm settings, and no node_modules/.bin
 * of this checkout on PATH, so that a tool missing from the production install is missing.
 */
function isolatedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
  env.PATH = (env.PATH ?? '')
    .split(path.delimiter)
    .filter((entry) => !entry.includes(`node_modules${path.sep}.bin`))
    .join(path.delimiter);
  delete env.NODE_ENV;
  return { ...env, ...extra };
}

describe.skipIf(process.env.CI !== 'true' || !process.env.DATABASE_URL)('a production install', () => {
  const copy = mkdtempSync(path.join(tmpdir(), 'callboard-production-'));
  let database: TestDatabase | undefined;

  afterAll(async () => {
    await database?.dispose();
    rmSync(copy, { recursive: true, force: true, maxRetries: 5 });
  });

  const inCopy = (command: string, args: string[], env?: Record<string, string>) =>
    run(command, args, { cwd: copy, env: isolatedEnv(env), maxBuffer: 64 * 1024 * 1024 });

  it('builds, prunes to the runtime dependencies, and starts', { timeout: 600_000 }, async () => {
    // What a clone of this working tree holds: tracked files and new ones, nothing that git ignores.
    const { stdout: files } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repo });
    for (const file of files.split('\0').filter(Boolean)) {
      if (existsSync(path.join(repo, file))) cpSync(path.join(repo, file), path.join(copy, file));
    }

    await inCopy('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund']);
    await inCopy('npm', ['run', 'build']);
    await inCopy('npm', ['prune', '--omit=dev', '--no-audit', '--no-fund']);

    for (const devOnly of ['prisma-cli', 'vitest', '@biomejs/biome', 'playwright-core']) {
      expect(existsSync(path.join(copy, 'node_modules', devOnly)), devOnly).toBe(false);
    }
    const { stdout: du } = await run('du', ['-sk', path.join(copy, 'node_modules')]);
    const megabytes = Number.parseInt(du, 10) / 1024;
    expect(megabytes).toBeLessThanOrEqual(documentedMegabytes() * 1.1);

    database = await createTestDatabase();
    const env = {
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: database.dataDir,
      DATABASE_URL: database.databaseUrl!,
      WEBHOOK_SECRET,
    };
    // Started as the systemd unit of docs/production.md starts it.
    const server = spawn(process.execPath, ['--max-semi-space-size=32', 'dist/main.js'], {
      cwd: copy,
      env: isolatedEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let output = '';
      const url = await new Promise<string>((resolve, reject) => {
        const read = (chunk: Buffer) => {
          output += chunk.toString();
          const match = /"event":"server.listening","url":"([^"]+)"/.exec(output);
          if (match) resolve(match[1]!);
        };
        server.stdout.on('data', read);
        server.stderr.on('data', read);
        server.once('exit', (code) => reject(new Error(`server exited with ${code} before listening:\n${output}`)));
      });
      expect((await fetch(`${url}/health`)).status).toBe(200);
      expect((await fetch(`${url}/ready`)).status).toBe(200);

      // The commands run from source through tsx, a runtime dependency.
      await inCopy('npm', ['run', 'keys', '--', 'list'], env);
    } finally {
      server.kill('SIGTERM');
      await exited(server);
    }
  });
});
