/** What the export tests share: a strict RFC 4180 reader, requests to the export routes, keys with given scopes. */
import http from 'node:http';
import { expect } from 'vitest';
import { createKeyStore } from '../../src/access/keys.ts';
import type { Scope } from '../../src/access/scopes.ts';
import type { TestServer } from '../../support/server.ts';

/**
 * Parses CSV as RFC 4180 writes it: records end with CRLF (the last one too), a quoted field may hold commas, CRLF,
 * LF and doubled quotes, an unquoted one none of them. Anything else throws, so a sloppy writer fails the test.
 */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let i = 0;
  while (i < text.length) {
    let field = '';
    if (text[i] === '"') {
      i += 1;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated quoted field');
        if (text[i] === '"' && text[i + 1] === '"') {
          field += '"';
          i += 2;
        } else if (text[i] === '"') {
          i += 1;
          break;
        } else {
          field += text[i];
          i += 1;
        }
      }
    } else {
      while (i < text.length && text[i] !== ',' && text[i] !== '\r') {
        if (text[i] === '"' || text[i] === '\n') throw new Error(`unquoted field holds ${JSON.stringify(text[i])} at ${i}`);
        field += text[i];
        i += 1;
      }
    }
    record.push(field);
    if (text[i] === ',') {
      i += 1;
    } else if (text.startsWith('\r\n', i)) {
      records.push(record);
      record = [];
      i += 2;
    } else {
      throw new Error(`expected a comma or CRLF at ${i}, got ${JSON.stringify(text.slice(i, i + 10))}`);
    }
  }
  if (record.length > 0) throw new Error('the last record does not end with CRLF');
  return records;
}

/** CSV records as objects keyed by the header row's names (every record must have as many fields). */
export function csvObjects(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  expect(header).toBeDefined();
  return rows.map((row) => {
    expect(row).toHaveLength(header!.length);
    return Object.fromEntries(header!.map((name, index) => [name, row[index]!]));
  });
}

export function parseNdjson(text: string): Record<string, unknown>[] {
  if (text === '') return [];
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export type Format = 'csv' | 'ndjson';

export function exportUrl(server: TestServer, format: Format, parameters: Record<string, string> = {}): string {
  const search = new URLSearchParams(parameters).toString();
  return `${server.url}/export/call-attempts.${format}${search ? `?${search}` : ''}`;
}

/** GETs an export, whole. */
export async function fetchExport(server: TestServer, format: Format, token: string | undefined, parameters: Record<string, string> = {}) {
  const response = await fetch(exportUrl(server, format, parameters), {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

export async function createKey(server: TestServer, name: string, scopes: Scope[]): Promise<string> {
  return (await createKeyStore(server.database.prisma).create({ name, scopes })).key;
}

/**
 * An export request whose body the test reads at its own pace, chunk by chunk: between two `next()` calls nothing is
 * read from the socket beyond Node's small buffer, so the server meets a client that does not read.
 */
export function openExport(server: TestServer, format: Format, token: string, parameters: Record<string, string> = {}) {
  return new Promise<{ request: http.ClientRequest; response: http.IncomingMessage; chunks: AsyncIterator<Buffer> }>((resolve, reject) => {
    const request = http.get(
      exportUrl(server, format, parameters),
      { agent: false, headers: { authorization: `Bearer ${token}` } },
      (response) => resolve({ request, response, chunks: response[Symbol.asyncIterator]() }),
    );
    request.on('error', reject);
  });
}

/** The next chunk of the body (there must be one). */
export async function nextChunk(chunks: AsyncIterator<Buffer>): Promise<Buffer> {
  const { done, value } = await chunks.next();
  expect(done).toBe(false);
  return value;
}

/** Reads the rest of the body into `received`; `complete` is false when the connection was cut before its end. */
export async function readRest(chunks: AsyncIterator<Buffer>, received: Buffer[]): Promise<{ complete: boolean }> {
  try {
    for (;;) {
      const { done, value } = await chunks.next();
      if (done) return { complete: true };
      received.push(value);
    }
  } catch {
    return { complete: false };
  }
}
