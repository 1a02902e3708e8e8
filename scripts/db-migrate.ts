/**
 * npm run db:migrate: applies pending migrations to the configured database (npm start does this too).
 * With the embedded database it refuses to run while the server (or any other process) has DATA_DIR open, and
 * creates the database if DATA_DIR has none yet: a release step may prepare a fresh install.
 */
import { runCommand } from '../src/cli.ts';

await runCommand({ name: 'npm run db:migrate', usage: 'Usage: npm run db:migrate', createsDatabase: true }, async (database) => {
  const applied = database.appliedMigrations;
  process.stdout.write(
    applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}\n` : 'The database is up to date.\n',
  );
});
