/**
 * Writes docs/miras.md and docs/presets/<name>.md from the catalog and the presets.
 * Usage: npx tsx engine/miras/cli/docs.ts [--check]   (--check: exit 1 if a committed doc is stale)
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generatedDocs } from './generated-docs';

const root = process.cwd();
const check = process.argv.includes('--check');
let stale = 0;
for (const [path, text] of Object.entries(generatedDocs())) {
  const file = join(root, path);
  const current = existsSync(file) ? readFileSync(file, 'utf8') : null;
  if (current === text) continue;
  if (check) {
    console.error(`stale: ${path}`);
    stale++;
  } else {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    console.log(`wrote ${path}`);
  }
}
if (stale) process.exit(1);
