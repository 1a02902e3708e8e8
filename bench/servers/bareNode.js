/**
 * The memory floor: Node and an HTTP server that does nothing, announced the way every side is (bench/lib/proc.ts).
 * Plain JavaScript, so that no TypeScript loader weighs on its RSS.
 */
import { createServer } from 'node:http';

const server = createServer((_request, response) => response.end());
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ event: 'server.listening', url: `http://127.0.0.1:${server.address().port}` })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
