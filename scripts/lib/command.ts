/**
 * What every command-line tool does around its work: a bad configuration (exit code 2) or a DATA_DIR held by the
 * running server (exit code 1) ends it with the one line that explains it, not a stack trace.
 */
import { ConfigError } from '../../src/config.ts';
import { DataDirBusyError } from '../../src/db/dataDirLock.ts';

export async function runCommand(work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${error.message}\n`);
      process.exit(2);
    }
    if (error instanceof DataDirBusyError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
