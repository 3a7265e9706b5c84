// Prisma CLI config for PostgreSQL (DATABASE_URL=postgres://...). Same offline route as SQLite:
// the JS schema engine through @prisma/adapter-pg.
import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';
import { databaseTarget } from '../server/database-url';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: 'postgresql/schema.prisma',
  migrations: { path: 'postgresql/migrations' },
  async adapter() {
    const target = databaseTarget(process.env.DATABASE_URL ?? undefined);
    if (target.provider !== 'postgresql') throw new Error('prisma/postgresql.config.ts needs a postgres:// DATABASE_URL');
    return new PrismaPg({ connectionString: target.url });
  },
});
