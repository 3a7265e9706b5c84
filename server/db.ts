/**
 * The database client. One Prisma client per process, created on first use:
 *   1. DATABASE_URL picks SQLite (default file ./data/miras.db) or PostgreSQL (server/database-url.ts);
 *   2. the checked-in migrations are applied (server/migrate.ts), so a fresh install creates its database
 *      on first start with no download and no separate step;
 *   3. the generated client for that provider is connected through its driver adapter.
 * Both generated clients come from the same models (prisma/models.prisma), so they share one type.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type BetterSqlite3 from 'better-sqlite3';
import type { Pool } from 'pg';
import type * as SqliteModule from '../generated/prisma-sqlite';
import type { Prisma } from '../generated/prisma-sqlite';
import { databaseTarget, type DatabaseTarget } from './database-url';
import { applyMigrations } from './migrate';
import { prismaSqliteDriver } from './sqlite-driver';

export type Db = SqliteModule.PrismaClient;
export type { Prisma };
type ClientModule = typeof SqliteModule;

/**
 * Load a generated client at run time, outside the bundler's view: bundled, its dynamic file
 * access makes Turbopack trace the whole project into every route. (Type imports above are erased.)
 */
async function loadClient(name: 'prisma-sqlite' | 'prisma-postgresql'): Promise<ClientModule> {
  const file = join(process.cwd(), 'generated', name, 'index.js');
  if (!existsSync(file)) throw new Error(`The Prisma client ${file} is missing: run \`bash scripts/db.sh generate\` first`);
  const mod = await import(/* turbopackIgnore: true */ /* webpackIgnore: true */ /* @vite-ignore */ pathToFileURL(file).href);
  return (mod.default ?? mod) as ClientModule;
}

/**
 * The driver below Prisma, for the one hot path that bypasses it (metric ingest, server/metrics.ts):
 * Prisma compiles every query (WASM) and re-prepares the statement each time, about 1 ms of CPU per
 * 20-point batch; a prepared statement on the driver costs a few µs per row.
 *  - SQLite: a second better-sqlite3 connection to the same file (WAL, synchronous=NORMAL, foreign keys
 *    on, busy timeout 0). A connection of its own, not Prisma's: Prisma's adapter issues BEGIN on its one
 *    connection and keeps the transaction open across awaits, so other queries on that connection would
 *    join (and roll back with) someone else's transaction. Busy timeout 0 because better-sqlite3 waits
 *    synchronously: waiting on a lock that Prisma's connection holds across awaits would block the very
 *    event loop that has to release it. Callers retry SQLITE_BUSY asynchronously instead (withSqliteLock).
 *  - PostgreSQL: the pg Pool that Prisma's adapter uses too (one set of connections).
 */
export type SqliteHandle = BetterSqlite3.Database;
export type Driver = { provider: 'sqlite'; handle: SqliteHandle } | { provider: 'postgresql'; pool: Pool };

export interface Database {
  db: Db;
  driver: Driver;
  /** The Prisma namespace of this client's own runtime: raw SQL fragments (sql, join) must come from it. */
  sql: Pick<typeof Prisma, 'sql' | 'join' | 'raw' | 'empty'>;
  target: DatabaseTarget;
  close(): Promise<void>;
}

/** Connect to a database (migrating it first unless told not to). Tests use this directly. */
export async function openDatabase(url?: string, opts: { migrate?: boolean } = {}): Promise<Database> {
  const target = databaseTarget(url);
  if (opts.migrate !== false) await applyMigrations(target);
  let db: Db;
  let sql: Database['sql'];
  let driver: Driver;
  if (target.provider === 'sqlite') {
    const [{ PrismaBetterSQLite3 }, { PrismaClient: SqliteClient, Prisma: SqlitePrisma }] = await Promise.all([
      import('@prisma/adapter-better-sqlite3'),
      loadClient('prisma-sqlite'),
    ]);
    sql = SqlitePrisma;
    // timeout = SQLite busy timeout: concurrent writers wait instead of failing with SQLITE_BUSY.
    db = new SqliteClient({ adapter: new PrismaBetterSQLite3({ url: target.path, timeout: 15_000 }) });
    // WAL (set by the migrator, persistent) + synchronous=NORMAL: a committed write survives a killed server.
    await db.$queryRawUnsafe('PRAGMA synchronous = NORMAL');
    await db.$queryRawUnsafe('PRAGMA foreign_keys = ON');
    const SqliteDriver = prismaSqliteDriver();
    const handle = new SqliteDriver(target.path, { timeout: 0 });
    // The same settings on the direct connection, set once at open. WAL + synchronous=NORMAL: a commit is
    // in the WAL file (the OS's page cache) before it returns, so it survives a killed process; it is not
    // fsynced, so the last commits may be lost to a power failure or kernel crash (FULL would fsync each).
    handle.pragma('journal_mode = WAL');
    handle.pragma('synchronous = NORMAL');
    handle.pragma('foreign_keys = ON');
    driver = { provider: 'sqlite', handle };
  } else {
    const [{ PrismaPg }, { PrismaClient: PgClient, Prisma: PgPrisma }, { default: pg }] = await Promise.all([
      import('@prisma/adapter-pg'),
      loadClient('prisma-postgresql'),
      import('pg'),
    ]);
    sql = PgPrisma;
    const max = Number(process.env.MIRAS_PG_POOL ?? 10);
    const pool = new pg.Pool({ connectionString: target.url, max });
    db = new PgClient({ adapter: new PrismaPg(pool) }) as unknown as Db;
    // An idle connection that fails (server restart) must not crash the process; the pool replaces it.
    pool.on('error', (err) => console.error('[db] idle PostgreSQL connection failed:', err.message));
    driver = { provider: 'postgresql', pool };
  }
  await db.$connect();
  return {
    db,
    driver,
    sql,
    target,
    close: async () => {
      await db.$disconnect();
      if (driver.provider === 'sqlite') driver.handle.close();
      else if (!driver.pool.ended) await driver.pool.end();
    },
  };
}

const globalForDb = globalThis as unknown as { __mirasDb?: Promise<Database> };

/** The process-wide database (survives Next's dev-mode module reloads). */
export function getDatabase(): Promise<Database> {
  if (!globalForDb.__mirasDb) {
    globalForDb.__mirasDb = openDatabase().catch((err) => {
      globalForDb.__mirasDb = undefined;
      throw err;
    });
  }
  return globalForDb.__mirasDb;
}

export async function getDb(): Promise<Db> {
  return (await getDatabase()).db;
}

/** Point the process-wide database at an already opened one (tests of route handlers). */
export function useDatabase(database: Database | undefined): void {
  globalForDb.__mirasDb = database ? Promise.resolve(database) : undefined;
}
