/**
 * Scenario 6: memory at rest. Callboard as `npm start` runs it, left idle for `idleSeconds` after it listens, on the
 * embedded database and on the PostgreSQL server. The embedded database is measured reopened (a second start on the
 * same data folder, as every start after the first), beside PGlite alone reopening that folder; both are compared
 * with bare Node, the floor, measured in the same run.
 */
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { BARE_NODE_ARGS, CALLBOARD_ARGS, PGLITE_ALONE_ARGS, type ServerProcess } from '../lib/proc.ts';
import { WEBHOOK_SECRET } from './http.ts';

export interface IdleResult {
  id: 'idle-embedded' | 'idle-postgres';
  label: string;
  idleSeconds: number;
  callboardMiB: number;
  /** Named baselines measured in the same run: bare Node, and for the embedded database PGlite alone. */
  baselines: { side: string; rssMiB: number }[];
}

type Launch = (name: string, args: string[], env: Record<string, string>) => Promise<ServerProcess>;

export async function idleScenario(options: {
  launch: Launch;
  stop: (server: ServerProcess) => Promise<void>;
  databaseUrl: string;
  idleSeconds: number;
  /** Where the embedded database's data folder goes (removed by the caller). */
  scratchDir: string;
}): Promise<IdleResult[]> {
  const { launch, stop, databaseUrl, idleSeconds, scratchDir } = options;
  const idleRss = async (name: string, args: string[], env: Record<string, string>) => {
    const server = await launch(name, args, env);
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
    const rss = server.rssMiB();
    await stop(server);
    return rss;
  };

  const bareNode = await idleRss('bare Node', BARE_NODE_ARGS, {});
  const dataDir = mkdtempSync(path.join(scratchDir, 'idle-embedded-'));
  // An empty DATABASE_URL selects the embedded database even when the bench itself was given one.
  const embedded = { DATA_DIR: dataDir, DATABASE_URL: '', WEBHOOK_SECRET };
  await stop(await launch('Callboard, embedded (first start)', CALLBOARD_ARGS, embedded));
  const embeddedMiB = await idleRss('Callboard, embedded', CALLBOARD_ARGS, embedded);
  const pgliteMiB = await idleRss('PGlite alone', PGLITE_ALONE_ARGS, { DATA_DIR: dataDir });
  const postgresMiB = await idleRss('Callboard, PostgreSQL', CALLBOARD_ARGS, {
    DATA_DIR: mkdtempSync(path.join(scratchDir, 'idle-postgres-')),
    DATABASE_URL: databaseUrl,
    WEBHOOK_SECRET,
  });
  return [
    {
      id: 'idle-embedded',
      label: 'embedded database, reopened',
      idleSeconds,
      callboardMiB: embeddedMiB,
      baselines: [
        { side: 'PGlite alone, reopened, default settings', rssMiB: pgliteMiB },
        { side: 'bare Node', rssMiB: bareNode },
      ],
    },
    {
      id: 'idle-postgres',
      label: 'DATABASE_URL (PostgreSQL server)',
      idleSeconds,
      callboardMiB: postgresMiB,
      baselines: [{ side: 'bare Node', rssMiB: bareNode }],
    },
  ];
}
