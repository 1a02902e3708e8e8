/**
 * What every command-line entry point in scripts/ shares: read the configuration, open the database, run, close,
 * and turn failures into one clear line and an exit code, never a stack trace: 2 for a mistake in the command or
 * the configuration, 1 for anything else (a DATA_DIR held by the running server included).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { KeyError } from './access/keys.ts';
import { ConfigError, loadConfig } from './config.ts';
import { DataDirBusyError } from './db/dataDirLock.ts';
import { openDatabase, type Database } from './db/database.ts';
import { ErasureError } from './governance/erasure.ts';
import { describeError } from './log.ts';

/** A mistake in how the command was called. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The caller's mistakes: their message is the whole story. */
const USER_ERRORS = [UsageError, ConfigError, KeyError, ErasureError];

/** `run` may return an exit code; anything else means 0. */
export async function runCommand(usage: string, run: (database: Database) => Promise<unknown>): Promise<never> {
  let code = 0;
  let database: Database | undefined;
  try {
    const config = loadConfig();
    database = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
    const result = await run(database);
    code = typeof result === 'number' ? result : 0;
  } catch (error) {
    const isUserError = USER_ERRORS.some((kind) => error instanceof kind);
    const message =
      error instanceof ConfigError
        ? `Configuration error: ${error.message}`
        : isUserError || error instanceof DataDirBusyError
          ? (error as Error).message
          : `Failed: ${describeError(error)}`;
    process.stderr.write(`${message}\n`);
    if (error instanceof UsageError) process.stderr.write(`${usage}\n`);
    code = isUserError ? 2 : 1;
  } finally {
    await database?.close().catch(() => {});
  }
  process.exit(code);
}

/** Node's parseArgs, with its errors as UsageErrors. */
export function parseCommandLine<T extends ParseArgsConfig['options']>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
