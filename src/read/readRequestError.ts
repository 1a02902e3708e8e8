/**
 * A read the request asks for that cannot be answered as asked (an unknown time zone, a search with no word, an
 * order that needs a filter): the message says why, for the caller. GraphQL answers it as `BAD_USER_INPUT`, the
 * export as a 400.
 */
export class ReadRequestError extends Error {
  override name = 'ReadRequestError';
}
