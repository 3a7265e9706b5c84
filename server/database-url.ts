/**
 * Which database DATABASE_URL names. Unset → the embedded SQLite file ./data/miras.db.
 * Shared by the app (server/db.ts), the Prisma CLI configs (prisma/*.config.ts) and scripts/db.sh.
 */
import { isAbsolute, resolve } from 'node:path';

export type DatabaseTarget =
  | { provider: 'sqlite'; url: string; path: string }
  | { provider: 'postgresql'; url: string };

export const DEFAULT_DATABASE_URL = 'file:./data/miras.db';

export function databaseTarget(url = process.env.DATABASE_URL, cwd = process.cwd()): DatabaseTarget {
  const raw = url && url.trim() !== '' ? url.trim() : DEFAULT_DATABASE_URL;
  if (/^postgres(ql)?:\/\//.test(raw)) return { provider: 'postgresql', url: raw };
  if (raw.startsWith('file:')) {
    const rel = raw.slice('file:'.length).replace(/^\/\/(?=\/)/, '').split('?')[0];
    if (rel === '') throw new Error(`DATABASE_URL "${raw}" names no SQLite file`);
    const path = rel === ':memory:' ? rel : isAbsolute(rel) ? rel : resolve(cwd, rel);
    return { provider: 'sqlite', url: `file:${path}`, path };
  }
  throw new Error(
    `DATABASE_URL must start with file: (SQLite) or postgres:// / postgresql:// (PostgreSQL); got "${raw.split(':')[0]}:…"`,
  );
}
