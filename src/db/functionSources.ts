// Database functions whose source is a .sql file in src/, beside the code that calls them. The database gets them from
// migrations only: the next migration carries a file's definition whenever it differs from the latest migration that
// defines the function. Nothing reads these files at run time.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** A function and its source file (relative to the repository root), which defines it once, with CREATE OR REPLACE. */
interface FunctionSource {
  name: string;
  file: string;
}

const functionSources: FunctionSource[] = [
  { name: 'callboard_store_delivery', file: 'src/ingest/storeDelivery.sql' },
  { name: 'callboard_search_config', file: 'src/db/transcriptSearch.sql' },
  { name: 'callboard_transcript_vector', file: 'src/db/transcriptSearch.sql' },
  { name: 'callboard_index_transcripts', file: 'src/db/transcriptSearch.sql' },
];

/**
 * The SQL for the next migration: the definition (with the comment above it) of each function whose source file
 * differs from the latest of `migrationsSql` (in order) that defines it; '' when every file agrees.
 */
export async function changedFunctionDefinitions(root: string, migrationsSql: string[]): Promise<string> {
  const changed = await Promise.all(
    functionSources.map(async ({ name, file }) => {
      const source = lastDefinition(await readFile(path.join(root, file), 'utf8'), name);
      if (source === undefined) throw new Error(`${file} does not define the function ${name}.`);
      const migrated = migrationsSql.map((sql) => lastDefinition(sql, name)).findLast((definition) => definition !== undefined);
      return source.definition === migrated?.definition ? '' : `-- ${name}, from ${file}.\n\n${source.withComment}\n`;
    }),
  );
  return changed.join('');
}

/**
 * The last definition of function `name` in `sql`: from its name to the end of its body (compared; whether it says
 * CREATE or CREATE OR REPLACE does not matter), and the whole statement with the comment lines just above it.
 */
function lastDefinition(sql: string, name: string): { definition: string; withComment: string } | undefined {
  // The body is dollar-quoted ($$ or $tag$); it ends at the same quote, followed by the statement's semicolon.
  const statements = new RegExp(
    String.raw`(?:^--.*\n)*^CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+(${name}\s*\([\s\S]*?(\$(?:[A-Za-z_]\w*)?\$)[\s\S]*?\2\s*;)`,
    'gim',
  );
  const last = [...sql.matchAll(statements)].at(-1);
  return last && { definition: last[1]!, withComment: last[0] };
}
