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
import type * as SqliteModule from '../generated/prisma-sqlite';
import type { Prisma } from '../generated/prisma-sqlite';
import { databaseTarget, type DatabaseTarget } from './database-url';
import { applyMigrations } from './migrate';

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

export interface Database {
  db: Db;
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
  } else {
    const [{ PrismaPg }, { PrismaClient: PgClient, Prisma: PgPrisma }] = await Promise.all([
      import('@prisma/adapter-pg'),
      loadClient('prisma-postgresql'),
    ]);
    sql = PgPrisma;
    const max = Number(process.env.MIRAS_PG_POOL ?? 10);
    db = new PgClient({ adapter: new PrismaPg({ connectionString: target.url, max }) }) as unknown as Db;
  }
  await db.$connect();
  return { db, sql, target, close: () => db.$disconnect() };
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
