/**
 * How `npm run sync` shows its progress: a bar redrawn in place on a terminal, JSON lines otherwise (a log
 * collector, CI), and a summary at the end naming what failed.
 */
import type { SyncProgress, SyncSummary } from './sync.ts';

export interface ProgressOutput {
  write(text: string): unknown;
}

export interface SyncReporter {
  progress(progress: SyncProgress): void;
  finished(summary: SyncSummary): void;
}

const BAR_WIDTH = 24;
/** Failed calls the summary lists by id; the count says how many more. */
const FAILURES_LISTED = 20;

export function createSyncReporter(output: ProgressOutput, terminal: boolean, startedAt = Date.now()): SyncReporter {
  const rate = (seen: number) => Math.round((seen / Math.max(0.001, (Date.now() - startedAt) / 1000)) * 10) / 10;
  return {
    progress(progress) {
      if (!terminal) {
        const { runId: _runId, healed: _healed, seenThisRun, ...fields } = progress;
        output.write(`${JSON.stringify({ event: 'sync.progress', ...fields, callsPerSecond: rate(seenThisRun) })}\n`);
        return;
      }
      const fraction = progress.totalCount > 0 ? Math.min(1, progress.seen / progress.totalCount) : 1;
      const filled = Math.round(fraction * BAR_WIDTH);
      output.write(
        `\r[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] page ${progress.page}: ` +
          `${progress.seen} seen, ${progress.stored} stored, ${progress.unchanged} unchanged, ${progress.failed} failed, ` +
          `${rate(progress.seenThisRun)} calls/s   `,
      );
    },
    finished(summary) {
      if (!terminal) {
        const { runId: _runId, healed: _healed, authFailed: _authFailed, ...fields } = summary;
        output.write(`${JSON.stringify({ event: 'sync.finished', ...fields })}\n`);
        return;
      }
      const lines = [
        '',
        `Sync ${summary.status}${summary.resumed ? ' (resumed)' : ''}: ${summary.seen} calls seen, ${summary.stored} stored, ` +
          `${summary.unchanged} unchanged, ${summary.failed} failed.`,
      ];
      if (summary.lastError) lines.push(`Stopped: ${summary.lastError}`);
      const listed = summary.failures.slice(0, FAILURES_LISTED);
      for (const failure of listed) lines.push(`  failed: ${failure.revoxId}: ${failure.error}`);
      if (summary.failed > listed.length)
        lines.push(`  ... and ${summary.failed - listed.length} more (the archive, webhook_deliveries, says why)`);
      if (summary.status !== 'completed') lines.push('Run the same command again to continue where it stopped.');
      output.write(`${lines.join('\n')}\n`);
    },
  };
}
