/**
 * A private PostgreSQL 15 cluster for tests and benchmarks: initdb into a fresh directory under the
 * temp dir, listen on 127.0.0.1 at a free port, trust auth, stop and delete it afterwards.
 * As root, PostgreSQL refuses to run, so the cluster belongs to the `postgres` system user.
 *
 *   const pg = await startPostgres();   // pg.url = postgres://postgres@127.0.0.1:PORT/miras
 *   ...
 *   await pg.stop();
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, chmodSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './server';

export interface PostgresCluster {
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

function binDir(): string {
  if (process.env.PG_BIN && existsSync(join(process.env.PG_BIN, 'initdb'))) return process.env.PG_BIN;
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const dir = join(base, v, 'bin');
    if (existsSync(join(dir, 'initdb'))) return dir;
  }
  throw new Error(
    'PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (set PG_BIN). Install them with: apt-get install -y postgresql',
  );
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Run a PostgreSQL binary, as the `postgres` user when we are root. */
function pgExec(bin: string, args: string[]): void {
  const [cmd, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  const res = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 120_000 });
  if (res.status !== 0) {
    throw new Error(`${[cmd, ...argv].join(' ')} failed (${res.status ?? res.signal}):\n${res.stdout}\n${res.stderr}`);
  }
}

export async function startPostgres(opts: { database?: string } = {}): Promise<PostgresCluster> {
  const bin = binDir();
  const database = opts.database ?? 'miras';
  const root = mkdtempSync(join(tmpdir(), 'miras-pg-'));
  chmodSync(root, 0o777);
  const dataDir = join(root, 'data');
  const sockDir = root;
  if (isRoot) execFileSync('chown', ['postgres:postgres', root]);
  pgExec(join(bin, 'initdb'), ['-D', dataDir, '--auth=trust', '--username=postgres', '--encoding=UTF8', '--no-sync', '-N']);
  const port = await freePort();
  const serverOpts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${sockDir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  pgExec(join(bin, 'pg_ctl'), ['-D', dataDir, '-o', serverOpts, '-l', join(root, 'server.log'), '-w', '-t', '60', 'start']);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      pgExec(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
  try {
    pgExec(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', database]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/${database}`, port, dataDir, stop };
}

// CLI: `tsx tests/helpers/postgres.ts` starts a cluster, prints its URL and keeps it until Ctrl-C.
if (process.argv[1]?.endsWith('tests/helpers/postgres.ts')) {
  startPostgres().then((pg) => {
    console.log(pg.url);
    const bye = () => void pg.stop().then(() => process.exit(0));
    process.on('SIGINT', bye);
    process.on('SIGTERM', bye);
    setInterval(() => {}, 1 << 30);
  });
}
