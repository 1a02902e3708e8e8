/**
 * TRANSCRIPT_SEARCH_LANGUAGE at start: the text search configuration transcripts are indexed with lives in the
 * database (the `transcript_search_language` setting, read by src/db/transcriptSearch.sql), so every instance and
 * every writer agree on it. A change re-indexes every transcript once, in one transaction.
 */
import type { PrismaClient } from './generated/prisma/client.ts';
import { ConfigError } from '../config.ts';
import type { Logger } from '../log.ts';

const SETTING = 'transcript_search_language';
/** The language before any is set: what callboard_search_config() answers without the setting. */
const DEFAULT_SEARCH_LANGUAGE = 'simple';

export async function applySearchLanguage(prisma: PrismaClient, language: string, logger: Logger): Promise<void> {
  const current = (await prisma.setting.findUnique({ where: { name: SETTING } }))?.value ?? DEFAULT_SEARCH_LANGUAGE;
  if (current === language) return;
  const known = await prisma.$queryRaw<{ name: string }[]>`SELECT cfgname AS name FROM pg_ts_config ORDER BY cfgname`;
  if (!known.some(({ name }) => name === language)) {
    throw new ConfigError(
      `TRANSCRIPT_SEARCH_LANGUAGE=${language} is not a text search configuration of this database; it has ${known.map(({ name }) => name).join(', ')}.`,
    );
  }
  const started = Date.now();
  const reindexed = await prisma.$transaction(
    async (tx) => {
      // Two instances starting with a new language re-index once.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${SETTING}))`;
      await tx.setting.upsert({ where: { name: SETTING }, create: { name: SETTING, value: language }, update: { value: language } });
      return tx.$executeRaw`UPDATE call_attempts a SET transcript_search = callboard_transcript_vector(a.id) WHERE a.transcript_search IS NOT NULL`;
    },
    { timeout: 60 * 60_000 },
  );
  logger.info('search.language_changed', { from: current, to: language, reindexedAttempts: reindexed, ms: Date.now() - started });
}
