/** Reads typed fields of a delivery's JSON objects; a wrong field is a PayloadError naming its full path. */
import { isJsonObject, type JsonObject } from './json.ts';
import { PayloadError } from './payloadError.ts';
import { parseTimestamp } from './revoxTimestamps.ts';

const E164 = /^\+[1-9]\d{1,14}$/;

/** Reads typed fields of one JSON object, naming the full path of any field that is wrong. */
export class FieldReader {
  constructor(
    private readonly source: JsonObject,
    private readonly path: string,
  ) {}

  private fail(key: string, problem: string): never {
    throw new PayloadError(`${this.path}.${key}`, problem);
  }

  id(key: string): string {
    const value = this.source[key];
    if (typeof value !== 'string' || value.trim() === '') {
      this.fail(key, value === undefined ? 'is required' : 'must be a non-empty string');
    }
    if (value.length > 255) this.fail(key, 'must be at most 255 characters');
    return value;
  }

  phoneNumber(key: string): string {
    const value = this.source[key];
    if (typeof value !== 'string') this.fail(key, value === undefined ? 'is required' : 'must be a string');
    // Its length, not its text: a number slightly wrong is still personal data, and the message reaches logs.
    if (!E164.test(value)) this.fail(key, `must be an E.164 phone number such as +14155550123, got ${value.length} characters`);
    return value;
  }

  requiredString(key: string): string {
    const value = this.string(key);
    if (value === null || value === '') this.fail(key, 'is required');
    return value;
  }

  string(key: string): string | null {
    const value = this.source[key];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string') this.fail(key, 'must be a string or null');
    return value;
  }

  boolean(key: string): boolean | null {
    const value = this.source[key];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'boolean') this.fail(key, 'must be true, false or null');
    return value;
  }

  count(key: string, max: number): number | null {
    const value = this.source[key];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
      this.fail(key, `must be a whole number from 0 to ${max}`);
    }
    return value;
  }

  object(key: string): JsonObject | null {
    const value = this.source[key];
    if (value === undefined || value === null) return null;
    if (!isJsonObject(value)) this.fail(key, 'must be an object or null');
    return value;
  }

  timestamp(key: string): Date | null {
    const value = this.source[key];
    if (value === undefined || value === null) return null;
    const parsed = parseTimestamp(value);
    if (typeof parsed === 'string') this.fail(key, parsed);
    return parsed;
  }

  requiredTimestamp(key: string): Date {
    const value = this.timestamp(key);
    if (value === null) this.fail(key, 'is required');
    return value;
  }
}

/** The fields of `object` that are not in `known`: kept in a record's `extra`. */
export function unknownFields(object: JsonObject, known: ReadonlySet<string>): JsonObject {
  return Object.fromEntries(Object.entries(object).filter(([key]) => !known.has(key)));
}
