/**
 * npm run db:migrate: applies pending migrations to the configured database (npm start does this too).
 * With the embedded database, stop the server first: PGlite allows one process at a time.
 */
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/database.ts';

const config = loadConfig();
const database = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
try {
  const applied = database.appliedMigrations;
  process.stdout.write(applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}\n` : 'The database is up to date.\n');
} finally {
  await database.close();
}
