/**
 * `bash scripts/db.sh migrate`: apply the checked-in migrations to DATABASE_URL
 * (unset → SQLite file ./data/miras.db, created with its folder if missing).
 */
import { databaseTarget } from '../server/database-url';
import { applyMigrations } from '../server/migrate';

const target = databaseTarget();
const where = target.provider === 'sqlite' ? target.path : target.url.replace(/\/\/([^:@/]+):[^@]*@/, '//$1:***@');
applyMigrations(target)
  .then((done) => {
    console.log(
      done.length ? `db: applied ${done.length} migration(s) to ${target.provider} ${where}: ${done.join(', ')}` : `db: ${target.provider} ${where} is up to date`,
    );
  })
  .catch((err: Error) => {
    console.error(`db: ${err.message}`);
    process.exit(1);
  });
