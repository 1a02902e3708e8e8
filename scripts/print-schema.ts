/** npm run schema: writes the printed, sorted GraphQL schema to schema.graphql at the repository root. */
import { writeFile } from 'node:fs/promises';
import { printedSchema, SCHEMA_FILE } from '../src/graphql/printSchema.ts';

await writeFile(SCHEMA_FILE, printedSchema());
process.stdout.write(`Wrote ${SCHEMA_FILE.pathname}\n`);
