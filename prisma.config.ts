import { fileURLToPath } from 'node:url';
// The Prisma CLI is installed as `prisma-cli` (see the README on install size), so `prisma/config` is imported from
// the package it re-exports.
import { defineConfig } from '@prisma/config';

// `prisma generate` never runs the schema engine, but Prisma 7 tries to download the native binary unless a path
// is set. Migrations run through @prisma/schema-engine-wasm instead (src/db/migrations.ts), so any existing file will do.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(
  new URL('./node_modules/@prisma/schema-engine-wasm/schema_engine_bg.wasm', import.meta.url),
);

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
