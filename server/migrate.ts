/**
 * Applies the checked-in migrations (prisma/<provider>/migrations/<name>/migration.sql) in name order.
 *
 * Why not `prisma migrate deploy`: offline, Prisma's CLI runs its WASM schema engine through a driver
 * adapter; that works for SQLite but fails on PostgreSQL here (@prisma/adapter-pg cannot read the `name`
 * column type while the engine inspects _prisma_migrations). This runner keeps Prisma's own bookkeeping
 * table and checksums, so `prisma migrate status` and later `migrate deploy` on an online machine agree.
 *
 * Safe to call concurrently (several test workers, app + CLI): PostgreSQL takes Prisma's advisory lock,
 * SQLite runs each migration in a BEGIN IMMEDIATE transaction and re-reads the applied list inside it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DatabaseTarget } from './database-url';
import { prismaSqliteDriver } from './sqlite-driver';

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export function migrationsDir(provider: DatabaseTarget['provider'], root = process.cwd()): string {
  return join(root, 'prisma', provider, 'migrations');
}

export function readMigrations(provider: DatabaseTarget['provider'], root = process.cwd()): Migration[] {
  const dir = migrationsDir(provider, root);
  if (!existsSync(dir)) throw new Error(`migrations folder ${dir} is missing (run from the repository root)`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'migration.sql')))
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

const SQLITE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

const PG_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

/** Prisma's own advisory lock key for migrations. */
const PG_LOCK = 72707369;

function checkApplied(applied: Map<string, string>, migrations: Migration[]): void {
  for (const m of migrations) {
    const sum = applied.get(m.name);
    if (sum !== undefined && sum !== m.checksum) {
      throw new Error(`migration ${m.name} was changed after it was applied (checksum mismatch); add a new migration instead`);
    }
  }
}

/** Returns the names of the migrations it applied (empty when the database was up to date). */
export async function applyMigrations(target: DatabaseTarget, root = process.cwd()): Promise<string[]> {
  const migrations = readMigrations(target.provider, root);
  return target.provider === 'sqlite' ? applySqlite(target.path, migrations) : applyPostgres(target.url, migrations);
}

async function applySqlite(path: string, migrations: Migration[]): Promise<string[]> {
  // Prisma's own copy of the library: the app may hold a Prisma connection to the same file (server/sqlite-driver.ts).
  const Database = prismaSqliteDriver();
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 10000');
    db.exec(SQLITE_TABLE);
    const done: string[] = [];
    for (const m of migrations) {
      db.exec('BEGIN IMMEDIATE');
      try {
        const rows = db
          .prepare('SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL')
          .all() as { migration_name: string; checksum: string }[];
        const applied = new Map(rows.map((r) => [r.migration_name, r.checksum]));
        checkApplied(applied, migrations);
        if (applied.has(m.name)) {
          db.exec('COMMIT');
          continue;
        }
        db.exec(m.sql);
        db.prepare(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count, started_at)
           VALUES (?, ?, current_timestamp, ?, 1, current_timestamp)`,
        ).run(randomUUID(), m.checksum, m.name);
        db.exec('COMMIT');
        done.push(m.name);
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw new Error(`SQLite migration ${m.name} failed: ${(err as Error).message}`);
      }
    }
    return done;
  } finally {
    db.close();
  }
}

async function applyPostgres(url: string, migrations: Migration[]): Promise<string[]> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PG_LOCK]);
    await client.query(PG_TABLE);
    const { rows } = await client.query<{ migration_name: string; checksum: string }>(
      'SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    );
    const applied = new Map(rows.map((r) => [r.migration_name, r.checksum]));
    checkApplied(applied, migrations);
    const done: string[] = [];
    for (const m of migrations) {
      if (applied.has(m.name)) continue;
      try {
        await client.query('BEGIN');
        await client.query(m.sql);
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count, started_at)
           VALUES ($1, $2, now(), $3, 1, now())`,
          [randomUUID(), m.checksum, m.name],
        );
        await client.query('COMMIT');
        done.push(m.name);
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw new Error(`PostgreSQL migration ${m.name} failed: ${(err as Error).message}`);
      }
    }
    return done;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [PG_LOCK]).catch(() => {});
    await client.end();
  }
}
