/**
 * What every command-line entry point in scripts/ shares: read the configuration, say which database it uses, open
 * it, run, close, and turn failures into one clear line and an exit code, never a stack trace: 2 for a mistake in the
 * command or the configuration (a DATA_DIR without a database included), 1 for anything else (a DATA_DIR held by the
 * running server included).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { KeyError } from './access/keys.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { DataDirBusyError } from './db/dataDirLock.ts';
import { embeddedDatabaseExists, openDatabase, type Database } from './db/database.ts';
import { ErasureError } from './governance/erasure.ts';
import { describeError } from './log.ts';

export interface Command {
  /** As an operator types it, e.g. `npm run keys`. */
  name: string;
  usage: string;
  /**
   * Whether it may create an embedded database where there is none: `db:migrate` and `sync` prepare a fresh install.
   * The others work on the server's data: run from a shell without the server's environment, they would otherwise
   * work on a new, empty `./data` and report nothing wrong.
   */
  createsDatabase: boolean;
  /** What does the same without stopping the server, said when the server holds the embedded database. */
  whileServerRuns?: string;
}

/** A mistake in how the command was called. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The command would create a new embedded database instead of opening the server's. */
export class NoDatabaseError extends Error {
  override name = 'NoDatabaseError';
}

/** The caller's mistakes: their message is the whole story. */
const USER_ERRORS = [UsageError, ConfigError, KeyError, ErasureError, NoDatabaseError];

/** `run` may return an exit code; anything else means 0. */
export async function runCommand(command: Command, run: (database: Database) => Promise<unknown>): Promise<never> {
  let code = 0;
  let database: Database | undefined;
  try {
    database = await openCommandDatabase(loadConfig(), command);
    const result = await run(database);
    code = typeof result === 'number' ? result : 0;
  } catch (error) {
    const isUserError = USER_ERRORS.some((kind) => error instanceof kind);
    const message =
      error instanceof ConfigError
        ? `Configuration error: ${error.message}`
        : error instanceof DataDirBusyError
          ? [error.message, command.whileServerRuns].filter(Boolean).join(' ')
          : isUserError
            ? (error as Error).message
            : `Failed: ${describeError(error)}`;
    process.stderr.write(`${message}\n`);
    if (error instanceof UsageError) process.stderr.write(`${command.usage}\n`);
    code = isUserError ? 2 : 1;
  } finally {
    await database?.close().catch(() => {});
  }
  process.exit(code);
}

/**
 * Says on stderr, in one line, which database the command works on (an operator may have meant another), then opens
 * it; throws NoDatabaseError rather than create an embedded one, unless the command may.
 */
export async function openCommandDatabase(config: Config, command: Command): Promise<Database> {
  const { dataDir, databaseUrl } = config;
  const exists = databaseUrl !== undefined || embeddedDatabaseExists(dataDir);
  if (!exists && !command.createsDatabase) {
    throw new NoDatabaseError(
      `No database in DATA_DIR ${dataDir}, and DATABASE_URL is not set: ${command.name} works on the server's database ` +
        "and will not create an empty one. Run it with the server's settings: set DATABASE_URL (PostgreSQL) or DATA_DIR " +
        'as the server has them, e.g. by loading its environment file first: set -a; . /etc/callboard.env; set +a',
    );
  }
  process.stderr.write(`${exists ? 'Using' : 'Creating'} ${databaseDescription(config)}\n`);
  return openDatabase({ dataDir, databaseUrl });
}

/** `PostgreSQL at host:port/database` (never the user or password), or `the embedded database in <DATA_DIR>`. */
export function databaseDescription({ dataDir, databaseUrl }: Pick<Config, 'dataDir' | 'databaseUrl'>): string {
  if (databaseUrl === undefined) return `the embedded database in ${dataDir}`;
  const url = new URL(databaseUrl);
  // A Unix socket is named by the host parameter: postgres://user@/db?host=/var/run/postgresql
  const host = url.hostname || url.searchParams.get('host') || 'localhost';
  return `PostgreSQL at ${host}:${url.port || '5432'}/${decodeURIComponent(url.pathname.slice(1))}`;
}
/** Node's parseArgs, with its errors as UsageErrors. */
export function parseCommandLine<T extends ParseArgsConfig['options']>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
