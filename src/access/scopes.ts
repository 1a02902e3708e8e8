/**
 * What a key may do. Scopes nest: `transcripts:read` includes `calls:read`, and `admin` includes both.
 * - `calls:read`: orders, attempts, stats and events, without transcripts, recording URLs or structured output.
 * - `transcripts:read`: adds those three.
 * - `admin`: adds erasure and key management.
 */
export const SCOPES = ['calls:read', 'transcripts:read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

const INCLUDED: Readonly<Record<Scope, readonly Scope[]>> = {
  'calls:read': ['calls:read'],
  'transcripts:read': ['calls:read', 'transcripts:read'],
  admin: ['calls:read', 'transcripts:read', 'admin'],
};

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** Every scope that the granted ones include. */
export function effectiveScopes(granted: readonly string[]): ReadonlySet<Scope> {
  return new Set(granted.filter(isScope).flatMap((scope) => INCLUDED[scope]));
}

/** Parses `calls:read,transcripts:read`; throws an error naming the unknown scope. */
export function parseScopes(text: string): Scope[] {
  const scopes = [
    ...new Set(
      text
        .split(',')
        .map((scope) => scope.trim())
        .filter((scope) => scope !== ''),
    ),
  ];
  if (scopes.length === 0) throw new Error(`name at least one scope: ${SCOPES.join(', ')}`);
  for (const scope of scopes) {
    if (!isScope(scope)) throw new Error(`unknown scope "${scope.slice(0, 40)}": use ${SCOPES.join(', ')}`);
  }
  return scopes as Scope[];
}
