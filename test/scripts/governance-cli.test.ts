/** npm run keys and npm run erase, run as a person would, as child processes against a real database. */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/database.ts';
import { orderDelivery } from '../../support/deliveries.ts';
import { startTestServer } from '../../support/server.ts';

let database: TestDatabase;
let env: Record<string, string>;
beforeAll(async () => {
  database = await createTestDatabase();
  env = { DATA_DIR: database.dataDir, ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}) };
  // The commands work on an existing database only, as they would on the server's.
  await (await startTestServer({}, database)).stop();
});
afterAll(() => database?.dispose());

function run(script: 'keys' | 'erase', args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', `scripts/${script}.ts`, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
}

describe('npm run keys', () => {
  it('creates a key shown once, lists keys without secrets, revokes by name', async () => {
    const created = await run('keys', ['create', '--name', 'dashboard', '--scope', 'calls:read', '--expires', '90d']);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^cb_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toMatch(/Created API key "dashboard" \(calls:read\), expires .*shown only this once/s);

    const listed = await run('keys', ['list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/dashboard\s+cb_\S{6}\.\.\.\s+calls:read\s+\S+\s+\S+\s+never\s+active/);
    expect(listed.stdout + listed.stderr).not.toContain(key);

    const revoked = await run('keys', ['revoke', 'dashboard']);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/Revoked API key "dashboard"/);
    expect((await run('keys', ['list'])).stdout).toMatch(/dashboard .* revoked/);
  });

  it.each([
    [['create', '--name', 'x'], /create needs --name and --scope/],
    [['create', '--name', 'x', '--scope', 'calls:write'], /unknown scope "calls:write": use calls:read, transcripts:read, admin/],
    [['create', '--name', 'x', '--scope', 'admin', '--expires', 'soon'], /--expires takes a number of days such as 90d/],
    [['revoke', 'nobody'], /no key named or with id "nobody"/],
    [['rotate'], /Unknown command or arguments: rotate/],
    [['list', '--verbose'], /Unknown option '--verbose'/],
  ])('%o: a clear message and exit code 2', async (args, message) => {
    const result = await run('keys', args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('npm run erase', () => {
  it('counts with --dry-run, then erases and says so', async () => {
    const server = await startTestServer({}, database);
    expect((await server.deliver(orderDelivery('call_cli_erase', [{ id: 'cli_erase_a', turns: 3 }], 0, '+33677778888'))).status).toBe(200);
    await server.stop();

    const dryRun = await run('erase', ['--phone', '+33677778888', '--dry-run']);
    expect(dryRun.code, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toMatch(
      /Dry run: would erase 1 call orders, 1 attempts, 3 transcript messages, 1 archived deliveries, 0 redacted mentions in other records\. Nothing was changed\./,
    );
    const erased = await run('erase', ['--phone', '+33677778888']);
    expect(erased.stdout).toMatch(
      /Erased 1 call orders, 1 attempts, 3 transcript messages, 1 archived deliveries, 0 redacted mentions in other records\./,
    );
    // Counts only: the number is never printed back.
    expect(dryRun.stdout + dryRun.stderr + erased.stdout + erased.stderr).not.toContain('677778888');
    expect((await run('erase', ['--phone', '+33677778888', '--dry-run'])).stdout).toMatch(/would erase 0 call orders/);

    const bad = await run('erase', ['--phone', '0677778888']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/E\.164/);
  });
});
