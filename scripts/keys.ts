/**
 * npm run keys -- create --name <name> --scope <scope>[,<scope>] [--expires <days>d]
 * npm run keys -- list
 * npm run keys -- revoke <name|id>
 * Manages API keys in the server's database (never a new one); works while the server runs on PostgreSQL (the
 * embedded database allows one process at a time: stop the server first, or use the createApiKey/revokeApiKey
 * mutations with an admin key).
 */
import { createKeyStore } from '../src/access/keys.ts';
import { parseCommandLine, runCommand, UsageError } from '../src/cli.ts';

const USAGE = `Usage:
  npm run keys -- create --name <name> --scope <scope>[,<scope>] [--expires <days>d]   scopes: calls:read, transcripts:read, admin
  npm run keys -- list
  npm run keys -- revoke <name|id>`;

const COMMAND = {
  name: 'npm run keys',
  usage: USAGE,
  createsDatabase: false,
  whileServerRuns:
    'Without stopping it: the createApiKey and revokeApiKey mutations and the apiKeys query do the same on the running server (in GraphiQL, with an admin key once a key exists).',
};

await runCommand(COMMAND, async (database) => {
  const { values, positionals } = parseCommandLine(process.argv.slice(2), {
    name: { type: 'string' },
    scope: { type: 'string' },
    expires: { type: 'string' },
  });
  const [command, ...rest] = positionals;
  const keys = createKeyStore(database.prisma);

  if (command === 'create' && rest.length === 0) {
    if (!values.name || !values.scope) throw new UsageError('create needs --name and --scope.');
    const created = await keys.create({
      name: values.name,
      scopes: values.scope,
      expiresInDays: values.expires === undefined ? null : days(values.expires),
    });
    // The key alone on stdout, so that it can be captured; the explanation on stderr.
    process.stderr.write(
      `Created API key "${created.name}" (${created.scopes.join(', ')})${created.expiresAt ? `, expires ${created.expiresAt.toISOString()}` : ''}.\n` +
        'Store it now: it is shown only this once. Send it as Authorization: Bearer <key>.\n',
    );
    process.stdout.write(`${created.key}\n`);
    return;
  }
  if (command === 'list' && rest.length === 0) {
    const rows = (await keys.list()).map((key) => ({
      name: key.name,
      key: `${key.keyPrefix}...`,
      scopes: key.scopes.join(','),
      created: key.createdAt.toISOString(),
      expires: key.expiresAt?.toISOString() ?? 'never',
      'last used': key.lastUsedAt?.toISOString() ?? 'never',
      status: key.revokedAt ? 'revoked' : key.expiresAt && key.expiresAt <= new Date() ? 'expired' : 'active',
      id: key.id,
    }));
    process.stdout.write(rows.length === 0 ? 'No API keys yet.\n' : `${table(rows)}\n`);
    return;
  }
  if (command === 'revoke' && rest.length === 1) {
    const revoked = await keys.revoke(rest[0]!);
    process.stdout.write(`Revoked API key "${revoked.name}" (${revoked.id}) at ${revoked.revokedAt?.toISOString()}.\n`);
    return;
  }
  throw new UsageError(command === undefined ? 'Name a command.' : `Unknown command or arguments: ${positionals.join(' ')}`);
});

function days(text: string): number {
  const match = /^(\d{1,4})d$/.exec(text);
  if (!match) throw new UsageError(`--expires takes a number of days such as 90d, got "${text.slice(0, 20)}"`);
  return Number(match[1]);
}

function table(rows: Record<string, string>[]): string {
  const columns = Object.keys(rows[0]!);
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, index) => cell.padEnd(widths[index]!))
      .join('  ')
      .trimEnd();
  return [line(columns), ...rows.map((row) => line(columns.map((column) => row[column]!)))].join('\n');
}
