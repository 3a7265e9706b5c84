import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiSuite } from './suite';

apiSuite('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'miras-sqlite-'));
  // A folder that does not exist yet: the migrator creates it, as on a first start.
  return { url: `file:${join(dir, 'nested', 'miras.db')}`, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});
