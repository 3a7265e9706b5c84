/**
 * `bash scripts/db.sh new-migration NAME`: writes prisma/{sqlite,postgresql}/migrations/<timestamp>_NAME/migration.sql
 * from the difference between prisma/models.prisma as last committed (git HEAD) and as it is now.
 * Uses `prisma migrate diff` between two schema files, which runs offline through prisma/*.config.ts;
 * PostgreSQL's diff needs a reachable server, so a private cluster is started for it (tests/helpers/postgres.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROVIDERS, schemaText, schemaPath, type Provider } from './db-schema';
import { startPostgres } from '../tests/helpers/postgres';

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: bash scripts/db.sh new-migration NAME   (NAME: lower-case letters, digits, _)');
  process.exit(2);
}

function committedModels(): string {
  try {
    return execFileSync('git', ['show', 'HEAD:prisma/models.prisma'], { encoding: 'utf8' });
  } catch {
    return '';
  }
}

async function main() {
  execFileSync('node_modules/.bin/tsx', ['scripts/db-schema.ts'], { stdio: 'inherit' });
  const before = committedModels();
  const tmp = mkdtempSync(join(tmpdir(), 'miras-migration-'));
  const pg = await startPostgres();
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  try {
    for (const provider of PROVIDERS as readonly Provider[]) {
      const from = join(tmp, `${provider}.before.prisma`);
      writeFileSync(from, before ? schemaText(provider, before) : '');
      const url = provider === 'sqlite' ? `file:${join(tmp, 'cli.db')}` : pg.url;
      const args = ['migrate', 'diff', '--config', `prisma/${provider}.config.ts`, '--to-schema-datamodel', schemaPath(provider), '--script'];
      args.push(...(before ? ['--from-schema-datamodel', from] : ['--from-empty']));
      const sql = execFileSync('node_modules/.bin/prisma', args, { encoding: 'utf8', env: { ...process.env, DATABASE_URL: url } });
      if (/^-- This is an empty migration\./m.test(sql) || sql.trim() === '') {
        console.log(`${provider}: no changes`);
        continue;
      }
      const dir = join('prisma', provider, 'migrations', `${stamp}_${name}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'migration.sql'), sql);
      console.log(`${provider}: wrote ${dir}/migration.sql (${readFileSync(join(dir, 'migration.sql'), 'utf8').split('\n').length} lines)`);
    }
  } finally {
    await pg.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
