/**
 * callStats.series against the real server: every bucket compared with numbers computed here from the rows, across
 * daylight-saving changes in Europe/Paris (a 25-hour and a 23-hour day, the repeated and the skipped hour), a
 * half-hour time zone, weeks, empty buckets, and the errors a caller can cause.
 *
 * Bucket starts are written out by hand (the DST knowledge lives in these tables, not in a time zone library): an
 * attempt belongs to the last bucket starting at or before its end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SERIES_BUCKETS } from '../../src/read/stats.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

let server: TestServer;
/** Every SQL statement the server sent. */
const statements: string[] = [];
beforeAll(async () => {
  server = await startTestServer({}, undefined, { onQuery: (sql) => statements.push(sql) });
});
afterAll(() => server?.dispose());

interface Row {
  callOrder: number;
  orderCompleted: boolean;
  status: string;
  result: string | null;
  answeredAt: Date | null;
  endedAt: Date | null;
}

const STATUSES = ['completed', 'error', 'completed', 'transferred'];
const RESULTS = ['human', 'voicemail', null, 'human', 'fax-machine'];

/** Stores attempts ending at `ends` for `phoneNumber` (two per order, varied statuses, results and durations). */
async function store(phoneNumber: string, ends: (string | null)[]): Promise<Row[]> {
  const rows: Row[] = ends.map((end, i) => {
    const endedAt = end === null ? null : new Date(end);
    return {
      callOrder: Math.floor(i / 2),
      orderCompleted: Math.floor(i / 2) % 2 === 0,
      status: end === null ? 'ongoing' : STATUSES[i % STATUSES.length]!,
      result: RESULTS[i % RESULTS.length]!,
      // Every third attempt was never answered; the others lasted 7, 19, 31, ... seconds.
      answeredAt: endedAt === null || i % 3 === 2 ? null : new Date(endedAt.getTime() - (7 + 12 * i) * 1000),
      endedAt,
    };
  });
  for (const order of new Set(rows.map((row) => row.callOrder))) {
    const attempts = rows.filter((row) => row.callOrder === order);
    await server.database.prisma.callOrder.create({
      data: {
        revoxId: `series_${phoneNumber}_${order}`,
        fromPhoneNumber: '+33100000000',
        toPhoneNumber: phoneNumber,
        direction: 'outbound',
        isCompleted: attempts[0]!.orderCompleted,
        callsCount: attempts.length,
        createdAt: new Date('2026-01-01T00:00:00Z'),
        versionKey: 'test',
        attempts: {
          create: attempts.map((row, a) => ({
            revoxId: `series_${phoneNumber}_${order}_${a}`,
            phoneNumber,
            status: row.status,
            result: row.result,
            answeredAt: row.answeredAt,
            endedAt: row.endedAt,
            versionKey: 'test',
          })),
        },
      },
    });
  }
  return rows;
}

const SERIES = `query($filter: CallAttemptFilter, $bucket: StatsBucket!, $timeZone: String) {
  callStats(filter: $filter) { series(bucket: $bucket, timeZone: $timeZone) {
    start attempts callOrders completedCallOrders answerRate averageDurationSeconds p50DurationSeconds p90DurationSeconds
    byResult { resultRaw count } byStatus { statusRaw count }
  } }
}`;

async function series(variables: Record<string, unknown>) {
  const { status, body } = await server.graphql(SERIES, variables);
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  expect(status).toBe(200);
  return (body.data.callStats.series as any[]).map((entry) => ({
    ...entry,
    answerRate: round(entry.answerRate),
    averageDurationSeconds: round(entry.averageDurationSeconds),
    p50DurationSeconds: round(entry.p50DurationSeconds),
    p90DurationSeconds: round(entry.p90DurationSeconds),
    byResult: new Map(entry.byResult.map((r: any) => [r.resultRaw, r.count])),
    byStatus: new Map(entry.byStatus.map((s: any) => [s.statusRaw, s.count])),
  }));
}

function round(value: number | null): number | null {
  return value === null ? null : Math.round(value * 1e6) / 1e6;
}

/** The entries the series must hold: one per start, each with the counters of the rows that ended in it. */
function expectedSeries(starts: string[], rows: Row[]) {
  const startTimes = starts.map((start) => Date.parse(start));
  const bucketOf = (row: Row) => startTimes.findLastIndex((start) => start <= row.endedAt!.getTime());
  const ended = rows.filter((row) => row.endedAt !== null);
  expect(
    ended.every((row) => bucketOf(row) >= 0),
    'a row ends before the first bucket',
  ).toBe(true);
  return starts.map((start, index) => ({
    start: new Date(start).toISOString(),
    ...countersOf(ended.filter((row) => bucketOf(row) === index)),
  }));
}

function countersOf(rows: Row[]) {
  const finished = rows.filter((row) => row.status === 'completed' || row.status === 'error');
  const durations = rows
    .filter((row) => row.answeredAt !== null)
    .map((row) => (row.endedAt!.getTime() - row.answeredAt!.getTime()) / 1000)
    .sort((a, b) => a - b);
  const percentile = (p: number) => {
    if (durations.length === 0) return null;
    const rank = p * (durations.length - 1);
    const low = Math.floor(rank);
    const high = Math.min(low + 1, durations.length - 1);
    return round(durations[low]! + (durations[high]! - durations[low]!) * (rank - low));
  };
  const count = <K>(key: (row: Row) => K) => {
    const counts = new Map<K, number>();
    for (const row of rows) counts.set(key(row), (counts.get(key(row)) ?? 0) + 1);
    return counts;
  };
  return {
    attempts: rows.length,
    callOrders: new Set(rows.map((row) => row.callOrder)).size,
    completedCallOrders: new Set(rows.filter((row) => row.orderCompleted).map((row) => row.callOrder)).size,
    answerRate: finished.length === 0 ? null : round(finished.filter((row) => row.result === 'human').length / finished.length),
    averageDurationSeconds: durations.length === 0 ? null : round(durations.reduce((sum, d) => sum + d, 0) / durations.length),
    p50DurationSeconds: percentile(0.5),
    p90DurationSeconds: percentile(0.9),
    byResult: count((row) => row.result),
    byStatus: count((row) => row.status),
  };
}

describe('callStats.series', () => {
  it('cuts Europe/Paris days at local midnight: the autumn change makes a 25-hour day; the range comes from the filter', async () => {
    const phoneNumber = '+33700000001';
    const inRange = [
      '2026-10-23T22:00:00.000Z', // Saturday 24, 00:00 CEST: the range's first instant
      '2026-10-24T12:00:00.000Z',
      '2026-10-24T21:59:59.999Z', // Saturday 24, 23:59:59.999 CEST
      '2026-10-24T22:00:00.000Z', // Sunday 25, 00:00 CEST
      '2026-10-25T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T01:30:00.000Z', // 02:30 CET, an hour later
      '2026-10-25T22:59:59.000Z', // Sunday 25, 23:59:59 CET: 25 hours after the day began
      '2026-10-25T23:00:00.000Z', // Monday 26, 00:00 CET
      null, // not ended: in no bucket
    ];
    const rows = await store(phoneNumber, [...inRange, '2026-10-23T21:59:59.000Z', '2026-10-27T23:00:00.000Z']);
    const filter = { phoneNumber, endedAfter: '2026-10-23T22:00:00Z', endedBefore: '2026-10-27T23:00:00Z' };
    const actual = await series({ filter, bucket: 'DAY', timeZone: 'Europe/Paris' });
    const starts = [
      '2026-10-23T22:00:00Z', // Saturday 24
      '2026-10-24T22:00:00Z', // Sunday 25: 25 hours
      '2026-10-25T23:00:00Z', // Monday 26
      '2026-10-26T23:00:00Z', // Tuesday 27: empty
    ];
    expect(actual).toEqual(
      expectedSeries(
        starts,
        rows.filter(
          (row) => row.endedAt === null || (row.endedAt >= new Date(filter.endedAfter) && row.endedAt < new Date(filter.endedBefore)),
        ),
      ),
    );
    expect(actual.map((entry) => entry.attempts)).toEqual([3, 4, 1, 0]);
  });

  it('cuts Europe/Paris days across the spring change (a 23-hour day), from the first to the last attempt, empty days included', async () => {
    const phoneNumber = '+33700000002';
    const rows = await store(phoneNumber, [
      '2026-03-27T23:30:00.000Z', // Saturday 28, 00:30 CET
      '2026-03-28T23:00:00.000Z', // Sunday 29, 00:00 CET
      '2026-03-29T01:00:00.000Z', // Sunday 29, 03:00 CEST (02:00 CET never happened)
      '2026-03-29T21:59:59.000Z', // Sunday 29, 23:59:59 CEST: 23 hours after the day began
      '2026-03-29T22:00:00.000Z', // Monday 30, 00:00 CEST
      '2026-03-31T22:30:00.000Z', // Wednesday April 1, 00:30 CEST
      null,
    ]);
    const actual = await series({ filter: { phoneNumber }, bucket: 'DAY', timeZone: 'Europe/Paris' });
    const starts = [
      '2026-03-27T23:00:00Z', // Saturday 28
      '2026-03-28T23:00:00Z', // Sunday 29: 23 hours
      '2026-03-29T22:00:00Z', // Monday 30
      '2026-03-30T22:00:00Z', // Tuesday 31: empty
      '2026-03-31T22:00:00Z', // Wednesday April 1
    ];
    expect(actual).toEqual(expectedSeries(starts, rows));
    expect(actual.map((entry) => entry.attempts)).toEqual([1, 3, 1, 0, 1]);
  });

  it('makes the repeated autumn hour two buckets and lists the hours after it, empty ones included', async () => {
    const phoneNumber = '+33700000003';
    const rows = await store(phoneNumber, [
      '2026-10-24T23:10:00.000Z', // 01:10 CEST
      '2026-10-25T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T01:30:00.000Z', // 02:30 CET
      '2026-10-25T01:45:00.000Z', // 02:45 CET
    ]);
    const filter = { phoneNumber, endedAfter: '2026-10-24T23:00:00Z', endedBefore: '2026-10-25T03:00:00Z' };
    const actual = await series({ filter, bucket: 'HOUR', timeZone: 'Europe/Paris' });
    const starts = ['2026-10-24T23:00:00Z', '2026-10-25T00:00:00Z', '2026-10-25T01:00:00Z', '2026-10-25T02:00:00Z'];
    expect(actual).toEqual(expectedSeries(starts, rows));
    expect(actual.map((entry) => entry.attempts)).toEqual([1, 1, 2, 0]);
  });

  it('has no bucket for the hour the spring change skips', async () => {
    const phoneNumber = '+33700000004';
    const rows = await store(phoneNumber, [
      '2026-03-29T00:59:00.000Z', // 01:59 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST
      '2026-03-29T01:59:00.000Z', // 03:59 CEST
    ]);
    const filter = { phoneNumber, endedAfter: '2026-03-29T00:00:00Z', endedBefore: '2026-03-29T02:00:00Z' };
    const actual = await series({ filter, bucket: 'HOUR', timeZone: 'Europe/Paris' });
    expect(actual).toEqual(expectedSeries(['2026-03-29T00:00:00Z', '2026-03-29T01:00:00Z'], rows));
    expect(actual.map((entry) => entry.attempts)).toEqual([1, 2]);
  });

  it('starts hours at the half hour in a half-hour time zone (Asia/Kolkata, UTC+05:30)', async () => {
    const phoneNumber = '+33700000005';
    const rows = await store(phoneNumber, ['2026-05-01T10:29:59.000Z', '2026-05-01T10:30:00.000Z', '2026-05-01T12:00:00.000Z']);
    const actual = await series({ filter: { phoneNumber }, bucket: 'HOUR', timeZone: 'Asia/Kolkata' });
    const starts = ['2026-05-01T09:30:00Z', '2026-05-01T10:30:00Z', '2026-05-01T11:30:00Z'];
    expect(actual).toEqual(expectedSeries(starts, rows));
  });

  it('cuts weeks at Monday midnight, in UTC by default', async () => {
    const phoneNumber = '+33700000006';
    const rows = await store(phoneNumber, [
      '2026-11-02T00:00:00.000Z',
      '2026-11-08T23:59:59.000Z',
      '2026-11-23T10:00:00.000Z',
      '2026-11-29T12:00:00.000Z',
    ]);
    const actual = await series({ filter: { phoneNumber }, bucket: 'WEEK' });
    const mondays = ['2026-11-02T00:00:00Z', '2026-11-09T00:00:00Z', '2026-11-16T00:00:00Z', '2026-11-23T00:00:00Z'];
    expect(actual).toEqual(expectedSeries(mondays, rows));
    expect(actual.map((entry) => entry.attempts)).toEqual([2, 0, 0, 2]);
  });

  it('is empty when nothing matches and no range is given, and all empty buckets when a range is', async () => {
    const phoneNumber = '+33700000099';
    expect(await series({ filter: { phoneNumber }, bucket: 'DAY' })).toEqual([]);
    const filter = { phoneNumber, endedAfter: '2026-06-01T00:00:00Z', endedBefore: '2026-06-04T00:00:00Z' };
    expect(await series({ filter, bucket: 'DAY' })).toEqual(
      expectedSeries(['2026-06-01T00:00:00Z', '2026-06-02T00:00:00Z', '2026-06-03T00:00:00Z'], []),
    );
  });

  it.each([
    ['Mars/Olympus', /Unknown time zone "Mars\/Olympus": use an IANA time zone name such as Europe\/Paris/],
    // PostgreSQL would read this POSIX string as three hours behind UTC.
    ['UTC+3', /Unknown time zone "UTC\+3"/],
    ['', /Unknown time zone ""/],
  ])('refuses the time zone %j with an error naming it', async (timeZone, message) => {
    const { body } = await server.graphql(SERIES, { filter: { phoneNumber: '+33700000001' }, bucket: 'DAY', timeZone });
    expect(body.data).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0].message).toMatch(message);
  });

  it(`refuses a range of more than ${MAX_SERIES_BUCKETS} buckets, saying how many it holds`, async () => {
    const filter = { endedAfter: '2026-01-01T00:00:00Z', endedBefore: '2026-03-01T00:00:00Z' };
    const { body } = await server.graphql(SERIES, { filter, bucket: 'HOUR' });
    expect(body.data).toBeNull();
    expect(body.errors[0].message).toBe(
      `The range holds 1416 hour buckets, more than the ${MAX_SERIES_BUCKETS} a series may hold: narrow it with endedAfter/endedBefore or use a larger bucket.`,
    );
    // The same range in days is fine.
    expect(await series({ filter, bucket: 'DAY' })).toHaveLength(59);
  });

  it('counts what the totals count, in a single SQL statement', async () => {
    statements.length = 0;
    const { body } = await server.graphql(
      `query($filter: CallAttemptFilter) { callStats(filter: $filter) { attempts series(bucket: DAY, timeZone: "Europe/Paris") { attempts } } }`,
      { filter: { phoneNumber: '+33700000002', status: ['COMPLETED', 'ERROR', 'OTHER'] } },
    );
    expect(body.errors).toBeUndefined();
    const { attempts, series: buckets } = body.data.callStats;
    // The status filter leaves out the one attempt that has not ended ("ongoing"): the totals and the series agree.
    expect(attempts).toBe(6);
    expect(buckets.reduce((sum: number, entry: { attempts: number }) => sum + entry.attempts, 0)).toBe(attempts);
    expect(statements.filter((sql) => sql.includes('generate_series'))).toHaveLength(1);
    expect(statements.filter((sql) => sql.includes('percentile_cont'))).toHaveLength(2);
  });
});
