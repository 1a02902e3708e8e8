import { describe, expect, it } from 'vitest';
import { parseTimestamp } from '../../src/webhook/timestamps.ts';

describe('parseTimestamp', () => {
  it.each([
    ['2024-01-01T12:00:00Z', '2024-01-01T12:00:00.000Z'],
    ['2024-01-01T12:00:00.123456Z', '2024-01-01T12:00:00.123Z'],
    ['2024-01-01T14:00:00+02:00', '2024-01-01T12:00:00.000Z'],
    ['2024-01-01T07:00:00-0500', '2024-01-01T12:00:00.000Z'],
    ['2024-01-01T13:00+01', '2024-01-01T12:00:00.000Z'],
    ['2024-01-01 12:00:00Z', '2024-01-01T12:00:00.000Z'],
    [1704110400, '2024-01-01T12:00:00.000Z'],
    [1704110400.5, '2024-01-01T12:00:00.500Z'],
    [1704110400123, '2024-01-01T12:00:00.123Z'],
  ])('reads %s', (input, iso) => {
    expect((parseTimestamp(input) as Date).toISOString()).toBe(iso);
  });

  it.each([
    ['2024-01-01T12:00:00', /UTC offset/],
    ['2024-01-01', /UTC offset/],
    ['yesterday', /ISO-8601/],
    ['<unknown>', /ISO-8601/],
    ['2024-02-30T12:00:00Z', /not a valid date-time/],
    ['2024-13-01T12:00:00Z', /not a valid date-time/],
    [-5, /epoch/],
    [Number.NaN, /epoch/],
    [true, /ISO-8601 date-time string, an epoch number/],
    [{}, /ISO-8601 date-time string, an epoch number/],
  ])('rejects %s with a reason', (input, reason) => {
    expect(parseTimestamp(input)).toMatch(reason);
  });
});
