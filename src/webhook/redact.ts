/**
 * The archive keeps each delivery's body as it arrived, except for a third party's secret: the api_key of a
 * `custom` llm_model. Redaction edits the raw text in place so everything else stays byte for byte.
 */
import { isJsonObject, type Json } from './json.ts';
import { withoutThirdPartySecret } from './payload.ts';

export const REDACTED = '[REDACTED]';

/** For a body that is not JSON we cannot tell where the llm_model is: every `"api_key": "..."` member goes (with
 * single quotes too, a common way to get JSON wrong). */
const ANY_API_KEY_MEMBER = /(["']api_key["']\s*:\s*)(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')/g;

/**
 * `parsed` is the body's JSON when it parsed. The result never contains the llm_model's api_key: when an in-place
 * edit cannot guarantee that (an unusual escaping), the archive keeps the JSON re-serialised without it.
 */
export function redactBody(raw: string, parsed: Json | undefined): string {
  if (parsed === undefined) return raw.replace(ANY_API_KEY_MEMBER, `$1"${REDACTED}"`);
  const call = isJsonObject(parsed) ? parsed.call : undefined;
  const model = isJsonObject(call) ? call.llm_model : undefined;
  // An absent, null or empty key holds no secret.
  if (!isJsonObject(call) || !isJsonObject(model) || model.api_key === undefined || model.api_key === null || model.api_key === '') return raw;

  const encoded = JSON.stringify(model.api_key);
  const redacted = raw.split(encoded).join(JSON.stringify(REDACTED));
  // Re-serialising normalises escapes, so the check also catches a key written as e.g. "\u0073k-...".
  if (!leaks(redacted, encoded.slice(1, -1))) return redacted;
  return JSON.stringify(withoutThirdPartySecret(parsed));
}

function leaks(text: string, secret: string): boolean {
  try {
    return JSON.stringify(JSON.parse(text)).includes(secret);
  } catch {
    return true;
  }
}
