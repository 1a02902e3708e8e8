/** Reading the scope-auth plugin's verdicts: which scope a refused field or argument needed, for an error that names both. */
import { AuthScopeFailureType, type AuthFailure } from '@pothos/plugin-scope-auth';
import { GraphQLError, type GraphQLResolveInfo } from 'graphql';

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

/**
 * The refusal of `subject`: a field (`CallAttempt.transcript`), or an argument (`filter.transcriptContains`) when
 * only that argument needs more than its field does, so that nobody reads that the whole field is out of reach.
 */
export function scopeError(failure: AuthFailure, subject: string): GraphQLError {
  const scope = missingScope(failure);
  return new GraphQLError(scope ? `${subject} needs ${scope}, which this API key lacks` : `This API key may not use ${subject}`, {
    extensions: { code: 'FORBIDDEN', ...(scope ? { missingScope: scope } : {}) },
  });
}

/** `Query.callAttempts`: the field being resolved, as a refusal names it. */
export function fieldName(info: GraphQLResolveInfo): string {
  return `${info.parentType.name}.${info.fieldName}`;
}
