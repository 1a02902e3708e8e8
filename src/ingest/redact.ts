/**
 * What the archive keeps of a delivery's body: everything but third parties' secrets (see thirdPartySecrets.ts).
 * Redaction is structural, never a search and replace in the text: an edit of the text cannot know which
 * occurrence is the secret, nor see every way JSON can spell a key.
 */
import { mayHoldSecretName, type WithoutSecrets } from './thirdPartySecrets.ts';

/** Why an archived body is null although the body was read; appended to the archive row's `error`. */
export const BODY_WITHHELD = 'body not archived: it may hold a secret that cannot be removed from it (not JSON, or nested too deep)';

/**
 * The text as received when it cannot hold a secret-named key anywhere; otherwise the JSON without secrets,
 * re-serialised (which also drops the copies of duplicate keys that JSON.parse ignored, secrets included); and null
 * when there is no such JSON (`clean` undefined: the text is not JSON, or too deep to walk).
 */
export function archivedBody(text: string, clean: WithoutSecrets | undefined): string | null {
  if (!mayHoldSecretName(text)) return text;
  return clean ? JSON.stringify(clean.value) : null;
}
