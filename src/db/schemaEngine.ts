// Prisma's schema engine without its native binary, which cannot be downloaded here: the same engine compiled to
// WebAssembly (@prisma/schema-engine-wasm, pinned to prisma's own engine version), loaded by hand and given the
// database through a Prisma driver adapter whose connections run migration scripts the way the native engine does.
// What the engine is asked to do (apply, diff) is migrations.ts's business.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { PGlite } from '@electric-sql/pglite';
import {
  bindMigrationAwareSqlAdapterFactory,
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlDriverAdapterFactory,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type * as SchemaEngineWasm from '@prisma/schema-engine-wasm/schema_engine_bg';
import type { Pool } from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PGLITE_EXTENSIONS } from './pgliteExtensions.ts';

let wasmModule: Promise<typeof SchemaEngineWasm> | undefined;

/**
 * Runs `work` with a schema engine for the Prisma schema at `schemaPath`, connected through `adapterFactory`; the wasm
 * module is loaded once per process.
 */
export async function withSchemaEngine<T>(
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  schemaPath: string,
  work: (engine: SchemaEngineWasm.SchemaEngine) => Promise<T>,
): Promise<T> {
  wasmModule ??= loadWasmModule();
  const { SchemaEngine } = await wasmModule;
  const schema = await readFile(schemaPath, 'utf8');
  // The engine disposes its shadow connection but never its main one, whose session also keeps holding the
  // engine's advisory lock (and, with adapter-pg, a whole pool): dispose every connection once the engine is done.
  const connections: SqlDriverAdapter[] = [];
  const open = async (connect: () => Promise<SqlDriverAdapter>) => {
    const connection = forSchemaEngine(await connect());
    connections.push(connection);
    return connection;
  };
  const boundFactory = bindMigrationAwareSqlAdapterFactory({
    provider: adapterFactory.provider,
    adapterName: adapterFactory.adapterName,
    connect: () => open(() => adapterFactory.connect()),
    connectToShadowDb: () => open(() => adapterFactory.connectToShadowDb()),
  });
  const engine = await SchemaEngine.new({ datamodels: [[schemaPath, schema]] }, logEngineMessage, boundFactory);
  try {
    return await work(engine);
  } catch (error) {
    // The engine reports an error thrown inside the adapter only as "External error id#N"; restore its message.
    const id = error instanceof Error ? /External error id#(\d+)/.exec(error.message)?.[1] : undefined;
    const original = id === undefined ? undefined : boundFactory.errorRegistry.consumeError(Number(id))?.error;
    if (error instanceof Error && original !== undefined) {
      error.message += `\nCaused by: ${original instanceof Error ? original.message : String(original)}`;
    }
    throw error;
  } finally {
    engine.free();
    await Promise.all(connections.map((connection) => connection.dispose()));
  }
}

// The package's own entry point imports the .wasm file as an ES module, which Node cannot do; instantiate it by hand.
async function loadWasmModule(): Promise<typeof SchemaEngineWasm> {
  const gluePath = createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const glue = await import('@prisma/schema-engine-wasm/schema_engine_bg');
  const wasm = await readFile(gluePath.replace(/\.js$/, '.wasm'));
  // The engine arms a timer for each timeout (10 s around its advisory lock) and never clears it (the glue has no
  // clearTimeout), which kept scripts alive for 10 s after their work was done: unref those timers.
  const imports = Object.fromEntries(
    Object.entries(glue).map(([name, value]) => [
      name,
      name.startsWith('__wbg_setTimeout_') ? (run: () => void, ms: number) => setTimeout(run, ms >>> 0).unref() : value,
    ]),
  );
  const { instance } = await WebAssembly.instantiate(wasm, { './schema_engine_bg.js': imports });
  glue.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  return glue;
}

// The engine logs JSON lines, mostly INFO chatter; only warnings and errors are worth showing.
function logEngineMessage(line: string): void {
  if (/"level":"(WARN|ERROR)"/.test(line)) console.warn(`[schema-engine] ${line.trim()}`);
}

/**
 * The engine's view of a database it only applies migrations to. Applying never needs a shadow database; refusing to
 * open one also guarantees that no adapter (adapter-pg reuses the main database for its "shadow" when the URL names
 * one) ever replays migrations on real data.
 */
export function withoutShadowDatabase(adapterFactory: SqlDriverAdapterFactory): SqlMigrationAwareDriverAdapterFactory {
  return {
    provider: adapterFactory.provider,
    adapterName: adapterFactory.adapterName,
    connect: () => adapterFactory.connect(),
    connectToShadowDb: () => Promise.reject(new Error('applyMigrations does not use a shadow database')),
  };
}

/**
 * One throwaway in-memory PGlite (with Callboard's extensions available) serves as both the engine's main and shadow database:
 * a diff only reads the main one, and creating a PGlite (initdb) costs seconds.
 */
export async function scratchDatabase(): Promise<{
  factory: SqlMigrationAwareDriverAdapterFactory;
  close: () => Promise<void>;
}> {
  const pglite = await PGlite.create({ extensions: PGLITE_EXTENSIONS });
  const adapterFactory = new PrismaPGlite(pglite);
  return {
    factory: {
      provider: adapterFactory.provider,
      adapterName: adapterFactory.adapterName,
      connect: () => adapterFactory.connect(),
      connectToShadowDb: () => adapterFactory.connect(),
    },
    close: () => pglite.close(),
  };
}

/** A connection for the engine: disposed at most once, and running scripts the way the native engine does. */
function forSchemaEngine(connection: SqlDriverAdapter): SqlDriverAdapter {
  let disposed: Promise<void> | undefined;
  const runWholeScript = wholeScriptRunner(connection);
  return Object.assign(Object.create(connection) as SqlDriverAdapter, {
    dispose: () => (disposed ??= connection.dispose()),
    executeScript: runWholeScript
      ? async (script: string) => {
          try {
            await runWholeScript(script);
          } catch (error) {
            throw asDriverAdapterError(error);
          }
        }
      : (script: string) => connection.executeScript(script),
  });
}

// The native engine sends a migration as one simple-protocol query, which PostgreSQL runs atomically. The adapters'
// own executeScript fall short: pglite-prisma-adapter 0.7.2 does not await it, so a failing migration is recorded as
// applied; @prisma/adapter-pg 7.10 splits the script on every ';' (breaking function bodies and string literals) and
// runs the pieces one by one, so a failure leaves half a migration behind. Send the script through their drivers.
function wholeScriptRunner(connection: SqlDriverAdapter): ((script: string) => Promise<unknown>) | undefined {
  if (connection.adapterName === 'pglite-prisma-adapter') {
    const pglite = (connection as { client?: PGlite }).client;
    return pglite && ((script) => pglite.exec(script));
  }
  if (connection.adapterName === '@prisma/adapter-pg') {
    const pool = (connection as { underlyingDriver?: () => Pool }).underlyingDriver?.();
    return pool && ((script) => pool.query(script));
  }
  return undefined;
}

/** A PostgreSQL error as the engine understands it, so it reports the database's message. */
function asDriverAdapterError(error: unknown): unknown {
  const { code, severity, message, detail, column, hint } = error as Record<string, string | undefined>;
  if (typeof code !== 'string' || typeof severity !== 'string') return error;
  return new DriverAdapterError({ kind: 'postgres', code, severity, message: message ?? '', detail, column, hint });
}
