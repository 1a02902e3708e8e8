/** npm run export, run as an operator would, as a child process against the server's database. */
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/database.ts';
import { orderDeliveries, orderDelivery } from '../../support/deliveries.ts';
import { startTestServer } from '../../support/server.ts';
import { fetchExport } from './exportClient.ts';

const TOKEN = 'export-cli-token-0123456789';
let database: TestDatabase;
let env: Record<string, string>;
/** What the server answered an API_TOKENS caller (every scope), by request. */
const served = new Map<string, string>();
const REQUESTS = {
  csv: { format: 'csv', parameters: {} },
  ndjsonFiltered: { format: 'ndjson', parameters: { filter: '{"result":["HUMAN","VOICEMAIL"]}', orderBy: 'STARTED_AT_ASC' } },
} as const;

beforeAll(async () => {
  database = await createTestDatabase();
  env = { DATA_DIR: database.dataDir, ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}) };
  const server = await startTestServer({ apiTokens: [TOKEN] }, database);
  const deliveries = [
    ...orderDeliveries('call_cli_1', [{ id: 'cli_a0' }, { id: 'cli_a1', result: 'human', turns: 3 }]),
    orderDelivery('call_cli_2', [{ id: 'cli_b0', result: null, turns: 0 }], 0, '+14155550123'),
  ];
  for (const delivery of deliveries) expect((await server.deliver(delivery)).status).toBe(200);
  for (const [name, { format, parameters }] of Object.entries(REQUESTS)) {
    served.set(name, (await fetchExport(server, format, TOKEN, parameters)).text);
  }
  // The embedded database is one process's at a time.
  await server.stop();
}, 120_000);
afterAll(() => database?.dispose());

function npmRunExport(args: string[]) {
  const child = spawn('npm', ['run', '--silent', 'export', '--', ...args], {
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

describe('npm run export', () => {
  it('writes to stdout what the server serves a caller with every scope', async () => {
    const result = await npmRunExport(['--format', 'csv']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(served.get('csv'));
    expect(result.stdout.split('\r\n')[0]).toBe(
      'revoxId,callOrderRevoxId,phoneNumber,direction,status,result,startedAt,answeredAt,endedAt,durationSeconds,recordingUrl,structuredOutput,transcript',
    );
    expect(result.stderr).toMatch(/^Using the embedded database in .*\nExported 3 call attempts \(\d+ bytes\)\.\n$|Using PostgreSQL/);
  });

  it('takes --filter and --order-by as the route takes filter and orderBy, and writes --out privately', async () => {
    const out = join(database.dataDir, 'attempts.ndjson');
    const result = await npmRunExport([
      '--format',
      'ndjson',
      '--filter',
      REQUESTS.ndjsonFiltered.parameters.filter,
      '--order-by',
      'STARTED_AT_ASC',
      '--out',
      out,
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`Exported 2 call attempts (${statSync(out).size} bytes) to ${out}.`);
    expect(readFileSync(out, 'utf8')).toBe(served.get('ndjsonFiltered'));
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it.each([
    [[], /export needs --format\./],
    [['--format', 'xml'], /--format must be csv or ndjson, got "xml"\./],
    [['--format', 'csv', '--filter', '{"result":["HUMANN"]}'], /filter\.result\[0\]: Value "HUMANN" does not exist in "CallResult" enum\./],
    [['--format', 'csv', '--order-by', 'NEWEST'], /--order-by must be one of ENDED_AT_DESC, .*got "NEWEST"/],
    [['--format', 'csv', '--columns', 'all'], /Unknown option '--columns'/],
  ])('%o: a clear message, the usage and exit code 2', async (args, message) => {
    const result = await npmRunExport(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('Usage: npm run export -- --format csv|ndjson');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
