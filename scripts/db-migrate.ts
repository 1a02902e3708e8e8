/**
 * npm run db:migrate: applies pending migrations to the configured database (npm start does this too).
 * With the embedded database it refuses to run while the server (or any other process) has DATA_DIR open.
 */
import { runCommand } from '../src/cli.ts';

await runCommand('Usage: npm run db:migrate', async (database) => {
  const applied = database.appliedMigrations;
  process.stdout.write(
    applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}\n` : 'The database is up to date.\n',
  );
});
