/**
 * Serves the BUILT app (`next build` output) on a free 127.0.0.1 port with its own
 * temporary SQLite database (migrated before the server starts), for browser and HTTP tests
 * and the ingest benchmark. The test script builds first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { databaseTarget } from '../../server/database-url';
import { applyMigrations } from '../../server/migrate';

export interface AppServer {
  url: string;
  dataDir: string;
  databaseUrl: string;
  /** Everything the server printed, for failure messages. */
  log(): string;
  /** Stop gracefully (SIGTERM) and delete the temporary data dir. */
  stop(): Promise<void>;
  /** Kill the server process abruptly (SIGKILL by default), keeping the database. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  pid: number | undefined;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

async function waitForHttp(url: string, child: ChildProcess, out: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`app server exited with ${child.exitCode}:\n${out()}`);
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`app server did not answer on ${url} within ${timeoutMs} ms:\n${out()}`);
}

export async function startAppServer(
  opts: { env?: Record<string, string>; dataDir?: string; databaseUrl?: string; port?: number } = {},
): Promise<AppServer> {
  if (!existsSync(join(ROOT, '.next', 'BUILD_ID'))) {
    throw new Error('The app is not built: run `npx next build` (npm test does this) before browser tests.');
  }
  const port = opts.port ?? (await freePort());
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'miras-app-'));
  const databaseUrl = opts.databaseUrl ?? `file:${join(dataDir, 'miras.db')}`;
  // Migrate first so a broken migration fails here with its own message, not as a page error.
  await applyMigrations(databaseTarget(databaseUrl, ROOT), ROOT);
  let output = '';
  const child = spawn(process.execPath, [join(ROOT, 'node_modules/next/dist/bin/next'), 'start', '-H', '127.0.0.1', '-p', String(port)], {
    cwd: ROOT,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', DATABASE_URL: databaseUrl, MIRAS_DATA_DIR: dataDir, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(url, child, () => output, 60_000);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    url,
    dataDir,
    databaseUrl,
    pid: child.pid,
    log: () => output,
    kill: async (signal: NodeJS.Signals = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
