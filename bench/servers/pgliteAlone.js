/**
 * PGlite alone, as its package ships (default settings, the extensions Callboard loads), reopening the data
 * folder DATA_DIR/pgdata that Callboard created: the embedded database's share of Callboard's memory. It runs one
 * query, then idles behind an HTTP server announced the way every side is (bench/lib/proc.ts).
 */
import { createServer } from 'node:http';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { unaccent } from '@electric-sql/pglite/contrib/unaccent';

const pglite = await PGlite.create(path.join(process.env.DATA_DIR ?? '', 'pgdata'), { extensions: { pg_trgm, unaccent } });
await pglite.query('SELECT count(*) FROM call_orders');
const server = createServer((_request, response) => response.end());
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ event: 'server.listening', url: `http://127.0.0.1:${server.address().port}` })}\n`);
});
process.on('SIGTERM', () => server.close(() => void pglite.close().then(() => process.exit(0))));
