/** What `npm run sync` prints on a terminal: a bar redrawn in place, then a summary naming what failed. */
import { describe, expect, it } from 'vitest';
import { createSyncReporter } from '../../src/revox/progress.ts';
import type { SyncSummary } from '../../src/revox/sync.ts';

const counts = { seen: 150, stored: 140, unchanged: 9, healed: 0, failed: 1 };

describe('the terminal view', () => {
  it('redraws one line with a bar, the counts and the rate', () => {
    let text = '';
    const reporter = createSyncReporter({ write: (chunk: string) => (text += chunk) }, true);
    reporter.progress({ runId: 'r', resumed: false, page: 1, totalCount: 300, seenThisRun: 150, ...counts });
    expect(text).toMatch(/^\r\[#{12}-{12}\] page 1: 150 seen, 140 stored, 9 unchanged, 1 failed, [\d.]+ calls\/s +$/);
    expect(text).not.toContain('\n');
  });

  it('ends with a summary naming the failed calls and how to continue', () => {
    let text = '';
    const reporter = createSyncReporter({ write: (chunk: string) => (text += chunk) }, true);
    const summary: SyncSummary = {
      runId: 'r',
      resumed: true,
      status: 'failed',
      ...counts,
      failed: 23,
      failures: Array.from({ length: 21 }, (_, i) => ({ revoxId: `call_${i}`, error: 'invalid_delivery: call.id: is required' })),
      lastError: 'Revox did not answer POST /call/search after 5 tries (last: HTTP 503)',
      authFailed: false,
    };
    reporter.finished(summary);
    const lines = text.split('\n');
    expect(lines[1]).toBe('Sync failed (resumed): 150 calls seen, 140 stored, 9 unchanged, 23 failed.');
    expect(lines[2]).toBe('Stopped: Revox did not answer POST /call/search after 5 tries (last: HTTP 503)');
    expect(lines[3]).toBe('  failed: call_0: invalid_delivery: call.id: is required');
    expect(lines.filter((line) => line.startsWith('  failed: '))).toHaveLength(20);
    expect(lines).toContain('  ... and 3 more (the archive, webhook_deliveries, says why)');
    expect(lines).toContain('Run the same command again to continue where it stopped.');
  });
});
