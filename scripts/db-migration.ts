// npm run db:migration -- <name>: writes a migration that brings prisma/migrations/ up to prisma/schema.prisma and to
// the database functions whose source is kept in src/ (src/db/functionSources.ts lists them).
import path from 'node:path';
import { createMigration } from '../src/db/migrations.ts';

function fail(problem: string): never {
  console.error(problem);
  console.error('Usage: npm run db:migration -- <name>   (lowercase letters, digits, underscores; e.g. add_call_tags)');
  process.exit(2);
}

const [name, ...extra] = process.argv.slice(2);
if (name === undefined) fail('Missing migration name.');
if (extra.length > 0) fail('Expected exactly one migration name.');
if (!/^[a-z0-9_]+$/.test(name)) fail(`Invalid migration name ${JSON.stringify(name)}.`);

const directory = await createMigration(name);
if (directory === null) {
  console.log(
    'No change: prisma/migrations/ already agrees with prisma/schema.prisma and with the functions kept in src/. Nothing written.',
  );
} else {
  const migrationFile = path.relative(process.cwd(), path.join(directory, 'migration.sql'));
  console.log(`Created ${migrationFile}. Review it, then commit it together with the change it carries.`);
}
