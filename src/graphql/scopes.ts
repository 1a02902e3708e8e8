/** Reading the scope-auth plugin's verdicts: which scope a refused field needed, for an error that names it. */
import { AuthScopeFailureType, type AuthFailure } from '@pothos/plugin-scope-auth';

/** The first scope the caller lacks in a failed check (any nesting of $any/$all). */
export function missingScope(failure: AuthFailure): string | undefined {
  if (failure.kind === AuthScopeFailureType.AuthScope) return failure.scope;
  if (failure.kind === AuthScopeFailureType.AnyAuthScopes || failure.kind === AuthScopeFailureType.AllAuthScopes) {
    for (const child of failure.failures) {
      const scope = missingScope(child);
      if (scope) return scope;
    }
  }
  return undefined;
}
