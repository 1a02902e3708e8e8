import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface WebhookSecret {
  value: string;
  /** Where the secret comes from, for the start-up message (which never prints it to logs). */
  source: 'WEBHOOK_SECRET' | string;
}

export const SECRET_FILE_NAME = 'webhook-secret';

/** The configured secret, or the one generated on first start and kept (readable by its owner only) in `dataDir`. */
export async function resolveWebhookSecret(configured: string | undefined, dataDir: string): Promise<WebhookSecret> {
  if (configured !== undefined) return { value: configured, source: 'WEBHOOK_SECRET' };
  const file = path.join(dataDir, SECRET_FILE_NAME);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  try {
    // `wx` fails when the file exists, so two instances starting together agree on one secret.
    await writeFile(file, `${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const value = (await readFile(file, 'utf8')).trim();
  if (value.length < 16) throw new Error(`${file} holds no usable secret: delete it to generate a new one`);
  return { value, source: file };
}
