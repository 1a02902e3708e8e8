/**
 * API keys kept in the database: created with a name and scopes (and an optional expiry), shown once, stored only as
 * a sha256 hash, listed without their secret, revoked at once. Keys start with `cb_` so that secret scanners can
 * recognise one that leaks.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../db/generated/prisma/client.ts';
import { parseScopes, type Scope } from './scopes.ts';

export const KEY_PREFIX = 'cb_';
/** What a list shows of a key: enough to tell keys apart, far too little to guess one (the key has 256 random bits). */
const SHOWN_PREFIX_LENGTH = KEY_PREFIX.length + 6;
/** `lastUsedAt` is written at most this often, so that reads do not turn into writes. */
const LAST_USED_RESOLUTION_MS = 60_000;
const MAX_NAME_LENGTH = 100;

export interface ApiKeyInfo {
  id: string;
  name: string;
  keyPrefix: string;
  scopes: string[];
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface CreatedKey extends ApiKeyInfo {
  /** The key itself: shown once, never stored. */
  key: string;
}

/** A key that exists and may be used now. */
export interface ActiveKey {
  id: string;
  name: string;
  scopes: string[];
}

export class KeyError extends Error {
  override name = 'KeyError';
}

const INFO = {
  id: true,
  name: true,
  keyPrefix: true,
  scopes: true,
  createdAt: true,
  expiresAt: true,
  lastUsedAt: true,
  revokedAt: true,
} as const;

function scopesFrom(text: string): Scope[] {
  try {
    return parseScopes(text);
  } catch (error) {
    throw new KeyError((error as Error).message);
  }
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function looksLikeKey(token: string): boolean {
  return token.startsWith(KEY_PREFIX);
}

export function createKeyStore(prisma: PrismaClient) {
  return {
    /**
     * Creates a key. `first`: only if no key exists yet, for the tokenless caller of an open API, which the first key
     * closes: two such requests at once (or one beside `npm run keys`, or on another instance) cannot both succeed.
     */
    async create(input: {
      name: string;
      scopes: readonly Scope[] | string;
      expiresInDays?: number | null;
      first?: boolean;
    }): Promise<CreatedKey> {
      const name = input.name.trim();
      if (name === '' || name.length > MAX_NAME_LENGTH || /[\s,]/.test(name)) {
        throw new KeyError(
          `a key name is 1 to ${MAX_NAME_LENGTH} characters without spaces or commas, got ${JSON.stringify(input.name.slice(0, 40))}`,
        );
      }
      const scopes = typeof input.scopes === 'string' ? scopesFrom(input.scopes) : [...new Set(input.scopes)];
      if (scopes.length === 0) throw new KeyError('a key needs at least one scope');
      const days = input.expiresInDays;
      if (days !== undefined && days !== null && (!Number.isInteger(days) || days < 1 || days > 3650)) {
        throw new KeyError(`expiry must be a whole number of days from 1 to 3650, got ${days}`);
      }
      const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
      const data = {
        name,
        keyHash: hashKey(key),
        keyPrefix: key.slice(0, SHOWN_PREFIX_LENGTH),
        scopes,
        expiresAt: days ? new Date(Date.now() + days * 86_400_000) : null,
      };
      const insert = input.first
        ? prisma.$transaction(async (tx) => {
            // Held until commit; it waits for, and makes wait, any other insert, so "none yet" stays true until ours.
            await tx.$executeRaw`LOCK TABLE api_keys IN SHARE ROW EXCLUSIVE MODE`;
            if (await tx.apiKey.findFirst({ select: { id: true } })) {
              throw new KeyError('the API is no longer open: a key exists already, and creating more needs one with the admin scope');
            }
            return tx.apiKey.create({ data, select: INFO });
          })
        : prisma.apiKey.create({ data, select: INFO });
      const created = await insert.catch((error: unknown) => {
        if ((error as { code?: string }).code === 'P2002') {
          throw new KeyError(`a key named "${name}" exists already: revoke it or choose another name`);
        }
        throw error;
      });
      return { ...created, key };
    },

    list(): Promise<ApiKeyInfo[]> {
      return prisma.apiKey.findMany({ select: INFO, orderBy: { createdAt: 'asc' } });
    },

    /** Revokes the key with this name or id; revoking it again changes nothing. */
    async revoke(nameOrId: string): Promise<ApiKeyInfo> {
      const isId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(nameOrId);
      const key = await prisma.apiKey.findFirst({
        where: isId ? { OR: [{ id: nameOrId }, { name: nameOrId }] } : { name: nameOrId },
        select: INFO,
      });
      if (!key) throw new KeyError(`no key named or with id "${nameOrId.slice(0, 100)}"`);
      if (key.revokedAt) return key;
      return prisma.apiKey.update({ where: { id: key.id }, data: { revokedAt: new Date() }, select: INFO });
    },

    /** The key for this secret if it may be used now; notes its use (at most once a minute). */
    async authenticate(key: string): Promise<ActiveKey | null> {
      const now = new Date();
      const found = await prisma.apiKey.findUnique({
        where: { keyHash: hashKey(key) },
        select: { id: true, name: true, scopes: true, expiresAt: true, revokedAt: true, lastUsedAt: true },
      });
      if (!found || found.revokedAt || (found.expiresAt && found.expiresAt <= now)) return null;
      if (!found.lastUsedAt || now.getTime() - found.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
        // Not awaited: a request never waits for this bookkeeping, and a failure to write it is harmless.
        prisma.apiKey
          .updateMany({
            where: { id: found.id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now.getTime() - LAST_USED_RESOLUTION_MS) } }] },
            data: { lastUsedAt: now },
          })
          .catch(() => {});
      }
      return { id: found.id, name: found.name, scopes: found.scopes };
    },

    /** Whether any key was ever created: from then on the API is never open. */
    async anyExist(): Promise<boolean> {
      return (await prisma.apiKey.findFirst({ select: { id: true } })) !== null;
    },

    /** Of these key ids, the ones that may still be used. */
    async stillActive(ids: readonly string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const active = await prisma.apiKey.findMany({
        where: { id: { in: [...ids] }, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }] },
        select: { id: true },
      });
      return new Set(active.map((key) => key.id));
    },
  };
}

export type KeyStore = ReturnType<typeof createKeyStore>;
