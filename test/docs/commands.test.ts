/**
 * docs/production.md runs the commands as `node --env-file=... --import tsx scripts/<file>.ts`, the way the systemd
 * unit runs the server: each file it names must be the one its npm script runs, so that the two spellings stay the
 * same command.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');

describe("docs/production.md's commands", () => {
  const guide = read('docs/production.md');
  const npmScripts = Object.values((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts);

  it('name the files that the npm scripts run', () => {
    const listed = ['keys', 'erase', 'replay', 'sync', 'db-migrate'].map((name) => `scripts/${name}.ts`);
    expect(guide.replace(/\s+/g, ' ')).toContain(
      `(\`${listed[0]}\`, ${listed
        .slice(1)
        .map((file) => `\`${file.slice('scripts/'.length)}\``)
        .join(', ')}; `,
    );
    const run = [...guide.matchAll(/--import tsx (scripts\/[\w-]+\.ts)/g)].map((match) => match[1]!);
    expect(run.length).toBeGreaterThan(0);
    for (const file of new Set([...listed, ...run])) expect(npmScripts, file).toContain(`tsx ${file}`);
  });
});
