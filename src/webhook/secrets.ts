/**
 * Third parties' secrets in a delivery: what counts as one, and removing them. Revox forwards the configuration of
 * the customer's own services (the `custom` llm_model with its api_key; in a call read from the REST API, the whole
 * assistant with its LLM, tool and webhook settings); Callboard needs none of their credentials, so they are removed
 * before anything is stored, hashed or archived.
 */
import { isJsonObject, type Json, type JsonObject } from './json.ts';

/**
 * The parts of a delivery that configure a third party, as paths of object keys from the body's root. Secret-named
 * keys are removed at any depth under these; elsewhere (metadata, transcripts) a key named `token` is the
 * customer's data and is kept.
 */
export const SECRET_BEARING_SUBTREES: readonly (readonly string[])[] = [
  ['call', 'llm_model'],
  // The REST API's call carries its assistant's configuration: LLM and tool credentials, and a `webhook_url` whose
  // query string may hold a token (Callboard's own webhook URL does).
  ['call', 'assistant'],
];

/**
 * A key is secret-named when its normalised form (NFKC, lower case, letters and digits only, so `API-KEY`,
 * `ApiKey` and `api.key` all read `apikey`) ends with one of these: `api_key`, `x-api-key`, `client_secret`,
 * `access_token`, `db_password`, `credentials`... Suffixes rather than exact names because providers prefix them;
 * `max_tokens` does not match (it ends with `tokens`).
 */
const SECRET_NAME_SUFFIXES = [
  'apikey',
  'secret',
  'secretkey',
  'privatekey',
  'accesskey',
  'token',
  'password',
  'passwd',
  'authorization',
  'credential',
  'credentials',
];

export function isSecretName(key: string): boolean {
  const normalised = key
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
  return SECRET_NAME_SUFFIXES.some((suffix) => normalised.endsWith(suffix));
}

/** A delivery's JSON with every secret-named key removed from its secret-bearing subtrees. */
export interface WithoutSecrets {
  readonly value: Json;
}

/**
 * Removes secret-named keys at any depth under each of `SECRET_BEARING_SUBTREES`; the rest is shared, not copied.
 * Recursive: the caller has checked the depth (`unstorablePart`).
 */
export function withoutSecrets(body: Json): WithoutSecrets {
  let value = body;
  for (const path of SECRET_BEARING_SUBTREES) value = replaceAt(value, path, withoutSecretNames);
  return { value };
}

function replaceAt(value: Json, path: readonly string[], replace: (subtree: Json) => Json): Json {
  const [key, ...rest] = path;
  if (key === undefined) return replace(value);
  if (!isJsonObject(value) || value[key] === undefined) return value;
  return { ...value, [key]: replaceAt(value[key], rest, replace) };
}

/** `value` without any secret-named key, at any depth. */
export function withoutSecretNames(value: Json): Json {
  if (Array.isArray(value)) return value.map(withoutSecretNames);
  if (typeof value === 'string') return withoutSecretQueryParameters(value);
  if (!isJsonObject(value)) return value;
  const kept: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    if (!isSecretName(key)) kept[key] = withoutSecretNames(child);
  }
  return kept;
}

/** A URL whose query string has secret-named parameters (`?token=...`, `&api_key=...`) loses them; other text is kept. */
function withoutSecretQueryParameters(text: string): string {
  if (!/^https?:\/\//i.test(text) || !text.includes('?')) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text;
  }
  const secretNames = [...url.searchParams.keys()].filter(isSecretName);
  if (secretNames.length === 0) return text;
  for (const name of secretNames) url.searchParams.delete(name);
  return url.toString();
}

const UNICODE_ESCAPE = /\\u([0-9a-fA-F]{4})/g;
/** Where a secret-named key may end in text: the last word of every suffix, then at most a few quotes, backslashes
 * or spaces before a colon, or an `=` (a URL's query parameter). Literal alternatives keep the scan linear, whatever
 * the text. */
const SECRET_KEY_ENDING = /(?:key|secret|token|password|passwd|authorization|credentials?)[^a-z0-9:=]{0,8}[:=]/g;
/** How much text before such an ending is read as the key, enough for `"OPENAI-Client_API-Key"`. */
const KEY_WINDOW = 48;

/**
 * Whether `text` may hold a secret-named key anywhere, written however: double-, single- or unquoted, in a string
 * (`\"token\":`), with `\uXXXX` escapes (decoded first), or as a URL's query parameter (`?token=`). Deliberately
 * loose: a transcript line "my token: 1234" counts too. A false alarm only costs the archive its byte-for-byte copy;
 * a miss would archive a secret.
 */
export function mayHoldSecretName(text: string): boolean {
  const decoded = text
    .replace(UNICODE_ESCAPE, (_escape, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .normalize('NFKC')
    .toLowerCase();
  for (const ending of decoded.matchAll(SECRET_KEY_ENDING)) {
    const end = ending.index + ending[0].length - 1;
    if (isSecretName(decoded.slice(Math.max(0, end - KEY_WINDOW), end))) return true;
  }
  return false;
}
