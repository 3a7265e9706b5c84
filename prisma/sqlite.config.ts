// Prisma CLI config for the embedded SQLite database. The JS schema engine talks to the database
// through a driver adapter, so generate / migrate deploy / migrate diff need no engine download.
import { defineConfig } from 'prisma/config';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { databaseTarget } from '../server/database-url';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: 'sqlite/schema.prisma',
  migrations: { path: 'sqlite/migrations' },
  async adapter() {
    const target = databaseTarget(process.env.DATABASE_URL ?? undefined);
    if (target.provider !== 'sqlite') throw new Error('prisma/sqlite.config.ts needs a file: DATABASE_URL');
    return new PrismaBetterSQLite3({ url: target.path });
  },
});
