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

/** Why a JSON value cannot be stored, and where (a path such as `call.metadata.a[0][0]`). */
export interface UnstorableJson {
  path: string;
  problem: string;
  /** False when the value nests too deep: nothing recursive may walk it. */
  walkable: boolean;
}

/**
 * The first part of `value` that nests arrays and objects deeper than `maxDepth`, or else the first scalar or key
 * that cannot be stored as received: one holding U+0000 (which PostgreSQL's text and jsonb cannot hold), or a number
 * beyond a double's range (JSON.parse reads `1e400` as Infinity, which would be stored as null); null when there is
 * none. Iterative, so it is safe on any depth, and it runs before anything recursive.
 */
export function unstorablePart(value: Json, maxDepth: number = MAX_JSON_DEPTH): UnstorableJson | null {
  interface Node {
    value: Json;
    depth: number;
    parent: Node | null;
    key: string | number | null;
  }
  const scalarProblem = (key: string | number | null, value: Json) =>
    (typeof key === 'string' && key.includes('\0')) || (typeof value === 'string' && value.includes('\0'))
      ? 'must not contain the NUL character (U+0000)'
      : typeof value === 'number' && !Number.isFinite(value)
        ? `must be a number from -${Number.MAX_VALUE} to ${Number.MAX_VALUE}`
        : null;
  const root: Node = { value, depth: 1, parent: null, key: null };
  // The first such scalar is reported only once the whole value is known to be shallow enough.
  const rootProblem = scalarProblem(null, value);
  let scalar: { node: Node; problem: string } | null = rootProblem ? { node: root, problem: rootProblem } : null;
  const pending: Node[] = [root];
  for (let node = pending.pop(); node; node = pending.pop()) {
    if (typeof node.value !== 'object' || node.value === null) continue;
    if (node.depth > maxDepth) {
      return { path: pathOf(node), problem: `nests arrays and objects deeper than ${maxDepth} levels`, walkable: false };
    }
    const children: [string | number, Json][] = Array.isArray(node.value) ? [...node.value.entries()] : Object.entries(node.value);
    for (const [key, child] of children) {
      const childNode = { value: child, depth: node.depth + 1, parent: node, key };
      const problem = scalar === null ? scalarProblem(key, child) : null;
      if (problem) scalar = { node: childNode, problem };
      if (typeof child === 'object' && child !== null) pending.push(childNode);
    }
  }
  return scalar && { path: pathOf(scalar.node), problem: scalar.problem, walkable: true };

  function pathOf(node: Node): string {
    const segments: string[] = [];
    for (let at: Node | null = node; at && at.key !== null; at = at.parent) {
      const { key } = at;
      segments.push(typeof key === 'number' ? `[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);
    }
    const path = segments.reverse().join('').replace(/^\./, '') || '$';
    return path.length > LONGEST_REPORTED_PATH ? `${path.slice(0, LONGEST_REPORTED_PATH - 3)}...` : path;
  }
}

/**
 * JSON.parse that says only where parsing stopped when it fails: V8's own message can quote the text, which may hold
 * a secret or a phone number.
 */
export function parseJson(text: string): { ok: true; value: Json } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) as Json };
  } catch (error) {
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    return { ok: false, error: position ? `invalid JSON at position ${position}` : 'invalid or incomplete JSON' };
  }
}

/** JSON with object keys sorted, so equal content always serialises to the same text. Recursive: check the depth
 * of untrusted values first (`unstorablePart`). */
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
