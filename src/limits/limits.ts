/**
 * Every limit on what one GraphQL request, operation or connection may ask for, over HTTP, SSE and WebSocket, in one
 * place: the server uses these values, tests and the README quote them (test/docs/numbers.test.ts holds the README's table to
 * them). Limits of the other doors live with their door: the webhook's in src/ingest/ and src/webhook/, the HTTP
 * connections' in src/http/connectionLimits.ts, a subscriber's backlog in src/events/eventBus.ts, Revox's answers in
 * src/revox/client.ts; the README's table lists them all.
 */

/** Page size of a connection when neither `first` nor `last` is given. */
export const DEFAULT_PAGE_SIZE = 20;
/** Largest `first`/`last` a connection accepts; more is an error, not a silent cut. */
export const MAX_PAGE_SIZE = 100;

/**
 * Turns the cost model assumes for a transcript, which is not paged: long calls run to a few hundred turns, most to
 * a few dozen. Assuming a long one keeps a page of transcripts from being underestimated.
 */
export const ASSUMED_TRANSCRIPT_TURNS = 200;
/** Items the cost model assumes for any other unpaged list (breakdowns, calling windows, introspection lists). */
export const ASSUMED_LIST_SIZE = 10;

/**
 * What the cost model charges, in values, for a statement that aggregates every matching attempt (each `callStats`,
 * each `series`) or searches the transcripts (each `callAttempts` with `transcriptContains`): such a statement reads
 * many rows to return a few values, so an operation may run about ten.
 */
export const AGGREGATE_STATEMENT_COST = 25_000;
/** What the cost model charges for looking up one node by its id (`node`, and each id of `nodes`). */
export const NODE_LOOKUP_COST = 100;
/** Most ids one `nodes(ids:)` takes: a page's worth. */
export const MAX_NODE_IDS = MAX_PAGE_SIZE;

/**
 * Longest `transcriptContains` (and an output condition's `contains`): the search compares the text with every
 * candidate turn or value (ILIKE), so its length multiplies the work of each comparison.
 */
export const MAX_SEARCH_TEXT_LENGTH = 200;
/** Longest phone number, Revox id or time zone name an argument takes: real ones are far shorter (E.164: 16). */
export const MAX_IDENTIFIER_LENGTH = 100;

/**
 * Most conditions one `filter.output` holds: each is evaluated on the structured output of every candidate attempt,
 * and a dashboard needs a few.
 */
export const MAX_OUTPUT_CONDITIONS = 10;
/** Most keys a structured-output `path` walks (a condition's or `byOutput`'s): real outputs nest a few levels deep. */
export const MAX_OUTPUT_PATH_KEYS = 16;
/** Longest key of such a path. */
export const MAX_OUTPUT_KEY_LENGTH = 100;
/**
 * Largest JSON value an output condition compares with (`equals`, each value of `in`), in bytes of JSON text: each is
 * a parameter of the statement and is compared with the value of every candidate attempt.
 */
export const MAX_OUTPUT_VALUE_BYTES = 2 * 1024;
/** Most values one `in` lists: each adds a probe of the index to the statement. */
export const MAX_OUTPUT_IN_VALUES = 100;
/** Most values `byOutput` lists (its `first`), per bucket in a series: the cost limit refuses more, as for any page. */
export const MAX_OUTPUT_VALUE_COUNTS = MAX_PAGE_SIZE;

/** Largest GraphQL request body over HTTP. */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;
/** Largest message a WebSocket client may send; more closes the connection. */
export const MAX_WEBSOCKET_MESSAGE_BYTES = 1024 * 1024;
/** Unsent data a WebSocket may hold before it is closed as too slow: its events stop piling up in memory. */
export const MAX_UNSENT_BYTES_PER_SOCKET = 4 * 1024 * 1024;
/** Operations one WebSocket may run at once; a dashboard needs a handful. */
export const MAX_OPERATIONS_PER_CONNECTION = 100;
/** How long a WebSocket may wait before it sends connection_init (and with it, its credentials). */
export const CONNECTION_INIT_TIMEOUT_MS = 5_000;
/**
 * WebSockets from one address (an IPv6 /64) that may wait for connection_init at once. Past that, a newcomer closes
 * the address's oldest waiting socket (1013) once it has waited a second (waitingRoom.ts): strangers from one address
 * cannot fill the pool of waiting sockets, nor keep a client of theirs out.
 */
export const MAX_UNAUTHENTICATED_PER_ADDRESS = 10;

export const OPERATION_LIMITS = {
  maxDepth: 12,
  maxAliases: 20,
  /** Bounds the work of parsing and validating, before any limit that needs a parsed document. */
  maxTokens: 3_000,
  maxDirectives: 20,
  /**
   * The cost of an operation is the number of values its response can hold, lists counted at their page size (see
   * cost.ts). A page of 100 orders, each with its last attempt and a full 200-turn transcript of every message field,
   * costs about 170,000; one level of nested connections of 100 costs 10,000 per field below it.
   */
  maxCost: 250_000,
  /**
   * No response (nor subscription event) is sent above this size: a safety net behind the cost model, for values
   * larger than usual. The largest realistic page, 100 orders with 200-turn transcripts of 200 characters per turn,
   * is about 5 MiB.
   */
  maxResponseBytes: 10 * 1024 * 1024,
} as const;
