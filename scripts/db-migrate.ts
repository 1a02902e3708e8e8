/**
 * npm run db:migrate: applies pending migrations to the configured database (npm start does this too).
 * With the embedded database it refuses to run while the server (or any other process) has DATA_DIR open.
 */
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { runCommand } from './lib/command.ts';

await runCommand(async () => {
  const config = loadConfig();
  const database = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  try {
    const applied = database.appliedMigrations;
    process.stdout.write(applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}\n` : 'The database is up to date.\n');
  } finally {
    await database.close();
  }
});
