import { apiSuite } from './suite';
import { startPostgres } from '../helpers/postgres';

apiSuite('PostgreSQL 15', async () => {
  const pg = await startPostgres();
  return { url: pg.url, cleanup: () => pg.stop() };
});
