/**
 * The schema and its migrations: both provider schemas are generated from prisma/models.prisma,
 * the checked-in migrations build exactly the schema Prisma derives from them (SQLite and a real
 * PostgreSQL), re-running is a no-op, an edited applied migration is refused, and the read paths
 * use the indexes the schema declares.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDERS, schemaPath, schemaText } from '@/scripts/db-schema';
import { applyMigrations, readMigrations } from '@/server/migrate';
import { databaseTarget } from '@/server/database-url';
import { startPostgres, type PostgresCluster } from '../helpers/postgres';

const ROOT = process.cwd();

/** The SQL Prisma derives from the schema alone (prisma migrate diff, offline through prisma/<provider>.config.ts). */
function schemaSql(provider: 'sqlite' | 'postgresql', url: string): string {
  return execFileSync(
    'node_modules/.bin/prisma',
    ['migrate', 'diff', '--config', `prisma/${provider}.config.ts`, '--from-empty', '--to-schema-datamodel', schemaPath(provider), '--script'],
    { encoding: 'utf8', env: { ...process.env, DATABASE_URL: url }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

function sqliteCatalog(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare(`SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE '_prisma%' AND name NOT LIKE 'sqlite_%' ORDER BY type, name`).all() as { type: string; name: string; sql: string }[]).map(
      (r) => `${r.type} ${r.name}: ${r.sql.replace(/\s+/g, ' ')}`,
    );
  } finally {
    db.close();
  }
}

async function pgCatalog(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const cols = await c.query(
      `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE '\\_prisma%' ORDER BY 1, 2`,
    );
    const idx = await c.query(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename NOT LIKE '\\_prisma%' ORDER BY 1`);
    const fks = await c.query(
      `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text NOT LIKE '%\\_prisma\\_migrations%' ORDER BY 1`,
    );
    return [...cols.rows.map((r) => JSON.stringify(r)), ...idx.rows.map((r) => `${r.indexname}: ${r.indexdef}`), ...fks.rows.map((r) => `${r.conname}: ${r.def}`)];
  } finally {
    await c.end();
  }
}

describe('database schema and migrations', () => {
  let pgc: PostgresCluster;
  let tmp: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'miras-schema-'));
    pgc = await startPostgres();
  });
  afterAll(async () => {
    await pgc?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('generates both provider schemas from prisma/models.prisma', () => {
    const models = readFileSync(join(ROOT, 'prisma/models.prisma'), 'utf8');
    for (const provider of PROVIDERS) {
      expect(readFileSync(schemaPath(provider), 'utf8'), `${provider} schema is stale: run bash scripts/db.sh schema`).toBe(schemaText(provider, models));
    }
  });

  it('keeps one migration history per provider, with the same steps', () => {
    const names = PROVIDERS.map((p) => readMigrations(p, ROOT).map((m) => m.name));
    expect(names[0].length).toBeGreaterThan(0);
    expect(names[0]).toEqual(names[1]);
    for (const p of PROVIDERS) {
      expect(readFileSync(join(ROOT, 'prisma', p, 'migrations', 'migration_lock.toml'), 'utf8')).toContain(`provider = "${p}"`);
    }
  });

  it('SQLite: the checked-in migrations build exactly the schema, and re-running them is a no-op', async () => {
    const migrated = join(tmp, 'sub', 'dir', 'migrated.db');
    const target = databaseTarget(`file:${migrated}`);
    expect(await applyMigrations(target, ROOT)).toEqual(readMigrations('sqlite', ROOT).map((m) => m.name));
    expect(await applyMigrations(target, ROOT)).toEqual([]);
    const fromSchema = join(tmp, 'from-schema.db');
    const db = new Database(fromSchema);
    db.exec(schemaSql('sqlite', `file:${join(tmp, 'cli.db')}`));
    db.close();
    expect(sqliteCatalog(migrated)).toEqual(sqliteCatalog(fromSchema));
  });

  it('PostgreSQL: the checked-in migrations build exactly the schema, and re-running them is a no-op', async () => {
    const migratedUrl = pgc.url;
    expect(await applyMigrations(databaseTarget(migratedUrl), ROOT)).toEqual(readMigrations('postgresql', ROOT).map((m) => m.name));
    expect(await applyMigrations(databaseTarget(migratedUrl), ROOT)).toEqual([]);
    const admin = new pg.Client({ connectionString: migratedUrl });
    await admin.connect();
    await admin.query('CREATE DATABASE from_schema');
    await admin.end();
    const otherUrl = migratedUrl.replace(/\/miras$/, '/from_schema');
    const c = new pg.Client({ connectionString: otherUrl });
    await c.connect();
    await c.query(schemaSql('postgresql', otherUrl));
    await c.end();
    expect(await pgCatalog(migratedUrl)).toEqual(await pgCatalog(otherUrl));
  });

  it('refuses a migration that was edited after it was applied', async () => {
    const root = join(tmp, 'edited');
    cpSync(join(ROOT, 'prisma/sqlite/migrations'), join(root, 'prisma/sqlite/migrations'), { recursive: true });
    const target = databaseTarget(`file:${join(tmp, 'edited.db')}`);
    await applyMigrations(target, root);
    const first = readdirSync(join(root, 'prisma/sqlite/migrations')).filter((n) => !n.endsWith('.toml')).sort()[0];
    appendFileSync(join(root, 'prisma/sqlite/migrations', first, 'migration.sql'), '\n-- edited\n');
    await expect(applyMigrations(target, root)).rejects.toThrow(/changed after it was applied/);
  });

  it('applies a new migration on top of an existing database', async () => {
    const root = join(tmp, 'newer');
    cpSync(join(ROOT, 'prisma/sqlite/migrations'), join(root, 'prisma/sqlite/migrations'), { recursive: true });
    const target = databaseTarget(`file:${join(tmp, 'newer.db')}`);
    await applyMigrations(target, root);
    const dir = join(root, 'prisma/sqlite/migrations/99991231000000_add_note');
    cpSync(join(root, 'prisma/sqlite/migrations', readdirSync(join(root, 'prisma/sqlite/migrations')).sort()[0]), dir, { recursive: true });
    writeFileSync(join(dir, 'migration.sql'), 'ALTER TABLE "Run" ADD COLUMN "note" TEXT;\n');
    expect(await applyMigrations(target, root)).toEqual(['99991231000000_add_note']);
    const db = new Database(target.provider === 'sqlite' ? target.path : '');
    const cols = (db.prepare(`PRAGMA table_info("Run")`).all() as { name: string }[]).map((c) => c.name);
    db.close();
    expect(cols).toContain('note');
  });

  it('reads metrics, runs and shares through indexes, never a table scan (SQLite query plans)', async () => {
    const path = join(tmp, 'plans.db');
    await applyMigrations(databaseTarget(`file:${path}`), ROOT);
    const db = new Database(path);
    const plan = (sql: string) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join(' | ');
    const queries: [string, string, RegExp][] = [
      ['series read', `SELECT step, value FROM "MetricPoint" WHERE "runId" = 'r' AND "key" = 'loss' AND step > 10 ORDER BY step`, /USING (PRIMARY KEY|INDEX sqlite_autoindex_MetricPoint_1)/],
      ['downsample', `SELECT MAX(step), AVG(value) FROM "MetricPoint" WHERE "runId" = 'r' AND "key" = 'loss' GROUP BY step / 10`, /USING (PRIMARY KEY|INDEX sqlite_autoindex_MetricPoint_1)/],
      ['metric keys', `SELECT DISTINCT "key" FROM "MetricPoint" WHERE "runId" = 'r'`, /USING (COVERING )?INDEX sqlite_autoindex_MetricPoint_1/],
      ['my runs', `SELECT id FROM "Run" WHERE "ownerId" = 'o' ORDER BY "createdAt" DESC LIMIT 50`, /Run_ownerId_createdAt_idx/],
      ['runs by status', `SELECT id FROM "Run" WHERE "ownerId" = 'o' AND status = 'running' ORDER BY "createdAt" DESC`, /Run_ownerId_status_createdAt_idx/],
      ['runs by task', `SELECT id FROM "Run" WHERE "ownerId" = 'o' AND task = 'mqar' ORDER BY "createdAt" DESC`, /Run_ownerId_task_createdAt_idx/],
      ['runs by preset', `SELECT id FROM "Run" WHERE "ownerId" = 'o' AND preset = 'x' ORDER BY "createdAt" DESC`, /Run_ownerId_preset_createdAt_idx/],
      ['runs by design', `SELECT id FROM "Run" WHERE "ownerId" = 'o' AND "designId" = 'd' ORDER BY "createdAt" DESC`, /Run_ownerId_designId_createdAt_idx/],
      ['share by slug', `SELECT * FROM "Share" WHERE slug = 's'`, /Share_slug_key/],
      ['share of run', `SELECT * FROM "Share" WHERE "runId" = 'r' AND "ownerId" = 'o' AND "revokedAt" IS NULL`, /Share_runId_idx/],
      ['checkpoint at step', `SELECT data FROM "Checkpoint" WHERE "runId" = 'r' AND step = 3`, /Checkpoint_runId_step_key/],
      ['owner by token', `SELECT id FROM "Owner" WHERE "tokenHash" = 'h'`, /Owner_tokenHash_key/],
      ['my designs', `SELECT id FROM "Design" WHERE "ownerId" = 'o' ORDER BY "updatedAt" DESC`, /Design_ownerId_updatedAt_idx/],
      ['design version', `SELECT * FROM "DesignVersion" WHERE "designId" = 'd' AND version = 2`, /DesignVersion_designId_version_key/],
    ];
    for (const [what, sql, want] of queries) {
      const p = plan(sql);
      expect(p, what).toMatch(want);
      expect(p, what).not.toMatch(/^SCAN "?\w+"?$|SCAN (TABLE )?"?(MetricPoint|Run|Share|Checkpoint|Owner|Design|DesignVersion)"?( |$)(?!USING)/);
    }
    db.close();
  });
});
