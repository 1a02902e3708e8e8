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
 * The version of the rules below. Bump it with any change to them: rows stored under older rules are then scrubbed
 * again at the next start (governance/scrubSecrets.ts).
 */
export const SECRET_RULES_VERSION = 2;

/**
 * A key is secret-named when its normalised form (NFKC, lower case, letters and digits only, so `API-KEY`,
 * `ApiKey` and `api.key` all read `apikey`) ends with one of these: `api_key`, `x-api-key`, `client_secret`,
 * `access_token`, `db_password`, `credentials`, `basic_auth`, `X-Custom-Auth`... Suffixes rather than exact names
 * because providers prefix them; `max_tokens` does not match (it ends with `tokens`).
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
  'auth',
  'bearer',
  'credential',
  'credentials',
  'signature',
];

/**
 * Last words that make a name secret (words split at separators and lower-to-upper case changes): `openai_key`,
 * `OpenAiKey`, `api_keys`, a URL's `?key=` or `&sig=`; as whole words, so `monkey` and `hotkey` stay.
 */
const SECRET_LAST_WORDS = new Set(['key', 'keys', 'sig']);

export function isSecretName(key: string): boolean {
  const text = key.normalize('NFKC');
  const normalised = text.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (SECRET_NAME_SUFFIXES.some((suffix) => normalised.endsWith(suffix))) return true;
  const words = text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  return SECRET_LAST_WORDS.has(words.filter(Boolean).at(-1) ?? '');
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

/** The keys that name the header or setting a `value` belongs to: `{"name": "Authorization", "value": "Bearer ..."}`. */
const PAIR_NAME_KEYS = ['name', 'key', 'header'];

/**
 * `value` without any secret-named key, nor the `value` of a pair that names a secret, at any depth; URLs lose their
 * user info and secret-named query parameters.
 */
export function withoutSecretNames(value: Json): Json {
  if (Array.isArray(value)) return value.map(withoutSecretNames);
  if (typeof value === 'string') return withoutUrlCredentials(value);
  if (!isJsonObject(value)) return value;
  const namesSecret = PAIR_NAME_KEYS.some((key) => typeof value[key] === 'string' && isSecretName(value[key]));
  const kept: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    if (!isSecretName(key) && !(namesSecret && key === 'value')) kept[key] = withoutSecretNames(child);
  }
  return kept;
}

/** Any scheme with an authority: `https://`, `wss://`, `postgres://`... */
const URL_START = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * A URL without its user info (`https://user:password@host`) and secret-named query parameters (`?token=...`,
 * `&key=...`, `&sig=...`); other text is kept.
 */
function withoutUrlCredentials(text: string): string {
  if (!URL_START.test(text) || !/[?@]/.test(text)) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text;
  }
  const secretNames = [...url.searchParams.keys()].filter(isSecretName);
  if (secretNames.length === 0 && url.username === '' && url.password === '') return text;
  for (const name of secretNames) url.searchParams.delete(name);
  url.username = '';
  url.password = '';
  return url.toString();
}

const UNICODE_ESCAPE = /\\u([0-9a-fA-F]{4})/g;
/**
 * Where a secret name may end in text: the last word of every suffix and last word above, then either at most a few
 * quotes, backslashes or spaces before a colon or an `=` (a key, a URL's query parameter), or a closing quote before
 * a comma or a brace (a pair's name: `"name": "Authorization",`). Literal alternatives keep the scan linear, whatever
 * the text.
 */
const SECRET_NAME_ENDING =
  /(?:keys?|sig|signature|secret|token|password|passwd|authorization|auth|bearer|credentials?)(?:[^a-z0-9:=]{0,8}[:=]|\\?["']\s{0,8}[,}])/gi;
/** How much text before such an ending is read as the name, enough for `"OPENAI-Client_API-Key"`. */
const NAME_WINDOW = 48;
/** A URL's user info: `://user:password@`, its slashes possibly escaped; from the `://`, so that the scan is linear. */
const URL_USER_INFO = /:(?:\\?\/){2}[^\s"'\\/?#@]*@/;

/**
 * Whether `text` may hold a secret that `withoutSecretNames` removes, written however: a secret-named key double-,
 * single- or unquoted, in a string (`\"token\":`), with `\uXXXX` escapes (decoded first), as a URL's query parameter
 * (`?token=`) or as a pair's name; or a URL's user info. Deliberately loose: a transcript line "my token: 1234"
 * counts too. A false alarm only costs the archive its byte-for-byte copy; a miss would archive a secret.
 */
export function mayHoldSecretName(text: string): boolean {
  const decoded = text.replace(UNICODE_ESCAPE, (_escape, hex: string) => String.fromCharCode(parseInt(hex, 16))).normalize('NFKC');
  if (URL_USER_INFO.test(decoded)) return true;
  for (const ending of decoded.matchAll(SECRET_NAME_ENDING)) {
    const end = ending.index + ending[0].length - 1;
    if (isSecretName(decoded.slice(Math.max(0, end - NAME_WINDOW), end))) return true;
  }
  return false;
}
