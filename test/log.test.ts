/** The throttled warning: one line per kind per interval, with a count, and bounded memory for kinds a client chooses. */
import { describe, expect, it } from 'vitest';
import { createLogger, throttledWarning } from '../src/log.ts';

const INTERVAL_MS = 200;

function warnings(maxKinds: number) {
  const lines: Record<string, unknown>[] = [];
  const warn = throttledWarning(
    createLogger((line) => lines.push(JSON.parse(line))),
    'test.refused',
    INTERVAL_MS,
    maxKinds,
  );
  const seen = () => lines.map(({ reason, count }) => `${reason}:${count}`);
  return { warn, seen };
}

const pause = () => new Promise((resolve) => setTimeout(resolve, INTERVAL_MS + 50));

describe('throttledWarning', () => {
  it('writes a kind once per interval, then how many happened since', async () => {
    const { warn, seen } = warnings(10);
    for (let i = 0; i < 3; i += 1) warn('a');
    warn('b');
    expect(seen()).toEqual(['a:1', 'b:1']);
    await pause();
    warn('a');
    expect(seen()).toEqual(['a:1', 'b:1', 'a:3']);
  });

  it('remembers at most maxKinds kinds, and counts the others under one line until room is made', async () => {
    const { warn, seen } = warnings(2);
    for (const kind of ['a', 'b', 'c', 'd', 'a']) warn(kind);
    expect(seen()).toEqual(['a:1', 'b:1', 'more kinds than remembered (2):1']);
    await pause();
    // Past the interval, kinds are forgotten to make room; with both places taken again, a new kind is counted.
    warn('e');
    warn('e');
    warn('d');
    warn('f');
    expect(seen().slice(3)).toEqual(['e:1', 'd:1', 'more kinds than remembered (2):2']);
  });

  it('lets the fields name the reason', () => {
    const lines: string[] = [];
    throttledWarning(
      createLogger((line) => lines.push(line)),
      'test.refused',
    )('https://a.example', { reason: 'not listed' });
    expect(JSON.parse(lines[0]!)).toMatchObject({ reason: 'not listed', count: 1 });
  });
});
