/**
 * The better-sqlite3 module Prisma's adapter itself loads (its own nested copy, 11.x, not the app's 12.x).
 * Two SQLite libraries in one process must never open the same file at once: POSIX file locks do not
 * conflict within a process, so each copy's connections would take locks the other cannot see (both
 * would write the WAL at once) and closing a file in one copy drops the other's locks. One library
 * coordinates its own connections in memory, so every direct connection (ingest, migrations) comes from
 * Prisma's copy.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';

export function prismaSqliteDriver(): typeof BetterSqlite3 {
  const fromApp = createRequire(join(process.cwd(), 'package.json'));
  return createRequire(fromApp.resolve('@prisma/adapter-better-sqlite3'))('better-sqlite3') as typeof BetterSqlite3;
}
