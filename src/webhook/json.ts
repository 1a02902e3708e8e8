import { createHash } from 'node:crypto';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * How deep arrays and objects may nest in a delivery. Revox's own payload nests about 6 levels (a transcript turn's
 * tool arguments); 64 leaves customers' metadata plenty of room while every recursive walk of a delivery (hashing,
 * secret removal, JSON.stringify, Prisma, PostgreSQL's jsonb) stays far from the stack's limit.
 */
export const MAX_JSON_DEPTH = 64;

const LONGEST_REPORTED_PATH = 256;

/**
 * Where `value` nests arrays and objects deeper than `maxDepth` (the first such container, as a path such as
 * `call.metadata.a[0][0]`), or null. Iterative, so it is safe on any depth, and it runs before anything recursive.
 */
export function pathBeyondDepth(value: Json, maxDepth: number = MAX_JSON_DEPTH): string | null {
  interface Container {
    value: Json[] | JsonObject;
    depth: number;
    parent: Container | null;
    key: string | number | null;
  }
  const pending: Container[] = isContainer(value) ? [{ value, depth: 1, parent: null, key: null }] : [];
  for (let container = pending.pop(); container; container = pending.pop()) {
    if (container.depth > maxDepth) return pathOf(container);
    const children: [string | number, Json][] = Array.isArray(container.value) ? [...container.value.entries()] : Object.entries(container.value);
    for (const [key, child] of children) {
      if (isContainer(child)) pending.push({ value: child, depth: container.depth + 1, parent: container, key });
    }
  }
  return null;

  function pathOf(container: Container): string {
    const segments: string[] = [];
    for (let at: Container | null = container; at && at.key !== null; at = at.parent) {
      const { key } = at;
      segments.push(typeof key === 'number' ? `[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);
    }
    const path = segments.reverse().join('').replace(/^\./, '') || '$';
    return path.length > LONGEST_REPORTED_PATH ? `${path.slice(0, LONGEST_REPORTED_PATH - 3)}...` : path;
  }
}

function isContainer(value: Json | undefined): value is Json[] | JsonObject {
  return typeof value === 'object' && value !== null;
}

/** JSON with object keys sorted, so equal content always serialises to the same text. Recursive: check the depth
 * of untrusted values first (`pathBeyondDepth`). */
export function canonicalJson(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isJsonObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key] as Json)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A fingerprint of a value's content, independent of key order. */
export function contentHash(value: Json): string {
  return sha256(canonicalJson(value));
}
