/** `syncStatus`: the last `npm run sync` and the last reconciliation with Revox's REST API (src/revox/). */
import type { RevoxSyncRun } from '../../db/generated/prisma/client.ts';
import { readSyncStatus, type SyncStatus } from '../../revox/status.ts';
import { builder } from '../builder.ts';

const SyncRunStatus = builder.enumType('SyncRunStatus', {
  values: {
    RUNNING: { value: 'running' },
    COMPLETED: { value: 'completed' },
    FAILED: { value: 'failed', description: 'Stopped by an error (lastError); a sync resumes where it stopped when run again.' },
    INTERRUPTED: { value: 'interrupted', description: 'Stopped before the end (Ctrl-C, shutdown, a process that died).' },
  } as const,
});

const SyncRun = builder.objectRef<RevoxSyncRun>('SyncRun').implement({
  description: 'One run of `npm run sync` or of the reconciliation.',
  fields: (t) => ({
    status: t.field({ type: SyncRunStatus, resolve: (run) => run.status as 'running' | 'completed' | 'failed' | 'interrupted' }),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    since: t.expose('since', {
      type: 'DateTime',
      nullable: true,
      description: 'Sync only: the oldest creation time imported; null for --all.',
    }),
    seen: t.exposeInt('seen', { description: 'Calls read from Revox.' }),
    stored: t.exposeInt('stored', { description: 'Calls that changed stored data.' }),
    unchanged: t.exposeInt('unchanged', { description: 'Calls already stored as they are (or in a newer state).' }),
    healed: t.exposeInt('healed', {
      description: 'Reconcile only: stuck orders the re-read moved on (a new attempt, or one finished since).',
    }),
    failed: t.exposeInt('failed', { description: 'Calls that could not be read or stored.' }),
    lastError: t.exposeString('lastError', { nullable: true }),
  }),
});

const SyncStatusRef = builder.objectRef<SyncStatus>('SyncStatus').implement({
  fields: (t) => ({
    lastSync: t.field({ type: SyncRun, nullable: true, resolve: (status) => status.lastSync }),
    lastReconcile: t.field({ type: SyncRun, nullable: true, resolve: (status) => status.lastReconcile }),
  }),
});

builder.queryField('syncStatus', (t) =>
  t.field({
    type: SyncStatusRef,
    description: "The last sync and reconcile runs with Revox's REST API.",
    // Operations data: its errors can quote what a call held.
    authScopes: { admin: true },
    resolve: (_root, _args, context) => readSyncStatus(context.prisma),
  }),
);
