/**
 * The GraphQL documents of the page and search scenarios, for Callboard and for PostGraphile. Apart from the scenarios,
 * so that test/graphql/n-plus-one.test.ts can count the statements of the very same requests without loading the
 * bench's own dependencies.
 */
import { FTS_QUERY, SEARCH_WORD } from './data.ts';

export const CALLBOARD_PAGE = `query Page { callOrders(first: 50) { nodes { revoxId createdAt toPhoneNumber isCompleted callsCount
  lastAttempt { revoxId status result startedAt endedAt transcript { role content } } } } }`;
export const POSTGRAPHILE_PAGE = `query Page { allCallOrders(first: 50, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) { nodes { revoxId createdAt toPhoneNumber isCompleted callsCount
  lastAttempt: callAttemptsByCallOrderId(first: 1, orderBy: [STARTED_AT_DESC, ROW_ID_DESC]) { nodes { revoxId status result startedAt endedAt
    transcript: transcriptMessagesByCallAttemptId(orderBy: POSITION_ASC) { nodes { role content } } } } } } }`;

export const CALLBOARD_SEARCH = `query Search { callAttempts(first: 20, filter: { transcriptContains: "${SEARCH_WORD}", result: [HUMAN] }) {
  nodes { revoxId phoneNumber result endedAt callOrder { revoxId } } } }`;
export const POSTGRAPHILE_SEARCH = `query Search { allCallAttempts(first: 20, orderBy: [ENDED_AT_DESC, ROW_ID_DESC], filter: {
  result: { in: ["human"] }, transcriptMessagesByCallAttemptId: { some: { content: { includesInsensitive: "${SEARCH_WORD}" } } } }) {
  nodes { revoxId phoneNumber result endedAt callOrder: callOrderByCallOrderId { revoxId } } } }`;

/** Full-text search, best match first, with the three best turns of each attempt highlighted. */
export const CALLBOARD_FTS = `query Fts { callAttempts(first: 20, orderBy: RELEVANCE, filter: { transcriptMatches: "${FTS_QUERY}" }) {
  nodes { revoxId endedAt transcriptHighlights(query: "${FTS_QUERY}", first: 3) { position snippet matches { start end } } } } }`;

/** Attempts with a confirmed appointment, counted by sentiment: a condition on one output key, a breakdown by another. */
export const OUTPUT_CONDITION = { path: ['appointment', 'confirmed'], equals: true };
export const OUTPUT_GROUP_BY = ['sentiment'];
export const CALLBOARD_OUTPUT = `query Output { callStats(filter: { output: [{ path: ${JSON.stringify(OUTPUT_CONDITION.path)}, equals: true }] }) {
  byOutput(path: ${JSON.stringify(OUTPUT_GROUP_BY)}) { value count } } }`;
