import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Listens on PORT (0: any free port) on loopback, announces its URL on stdout the way Callboard's server does (so
 * bench/lib/proc.ts starts every side alike), and on SIGTERM stops and releases its resources.
 */
export function serveUntilTerminated(server: Server, release: () => Promise<unknown>): void {
  server.keepAliveTimeout = 60_000;
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    process.stdout.write(`${JSON.stringify({ event: 'server.listening', url: `http://127.0.0.1:${port}` })}\n`);
  });
  process.on('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    void release().then(() => process.exit(0));
  });
}
