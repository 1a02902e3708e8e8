import { createHash, timingSafeEqual } from 'node:crypto';

/** Compares in constant time: hashing first makes the comparison independent of both lengths. */
export function tokenMatches(given: string | null | undefined, expected: string): boolean {
  if (!given) return false;
  return timingSafeEqual(sha256(given), sha256(expected));
}

/** True when `given` is one of `accepted`; every candidate is compared, so timing does not reveal which matched. */
export function tokenIsAccepted(given: string | null | undefined, accepted: readonly string[]): boolean {
  return accepted.reduce((found, token) => tokenMatches(given, token) || found, false);
}

/** The token of an `Authorization: Bearer <token>` header, if any. */
export function bearerToken(authorization: string | null | undefined): string | null {
  const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  return match?.[1] ?? null;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
