/**
 * Metric-ingest load benchmark against the BUILT app (`next build` first):
 *   50 concurrent runs, each posting one batch every 100 ms (10 Hz) for 60 s, each batch a few steps
 *   of several metric keys; halfway through, the server is killed with SIGKILL and restarted on the
 *   same database and port. Clients keep unacknowledged batches and retry them (ingest is idempotent
 *   on (run, key, step)), as the browser recorder does.
 * Afterwards every acknowledged point is read back and compared: nothing lost, nothing duplicated,
 * every value exact. Prints latency percentiles and counts; it is a benchmark, not a test.
 *
 *   npx tsx bench/ingest.ts [--runs 50] [--hz 10] [--seconds 60] [--steps-per-batch 5] [--postgres] [--no-kill]
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { startAppServer, freePort, type AppServer } from '../tests/helpers/server';
import { startPostgres, type PostgresCluster } from '../tests/helpers/postgres';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const RUNS = opt('runs', 50);
const HZ = opt('hz', 10);
const SECONDS = opt('seconds', 60);
const STEPS_PER_BATCH = opt('steps-per-batch', 5);
const KEYS = ['train/loss', 'train/lr', 'train/tokens_per_sec', 'train/grad_norm'];
const POSTGRES = args.includes('--postgres');
const KILL = !args.includes('--no-kill');

interface Batch {
  points: { key: string; step: number; value: number; time: number }[];
}

interface RunClient {
  id: string;
  cookie: string;
  queue: Batch[];
  nextStep: number;
  acked: Map<string, number>; // "key|step" → value
  inserted: number;
  duplicates: number;
}

const latencies: number[] = [];
let requests = 0;
let failures = 0;
const failureKinds = new Map<string, number>();
let serverUp = true;

const value = (run: number, key: string, step: number) => Math.sin(run * 7.1 + step * 0.013 + key.length) * 10 + step * 1e-3;

/** CPU seconds (user + system) used so far by a process and its descendants, from /proc. */
function cpuSeconds(root: number | undefined): number {
  if (!root) return 0;
  const tick = 100; // USER_HZ on Linux
  const stats = new Map<number, { ppid: number; cpu: number }>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const f = readFileSync(`/proc/${d}/stat`, 'utf8');
      const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(d), { ppid: Number(rest[1]), cpu: (Number(rest[11]) + Number(rest[12])) / tick });
    } catch {
      // the process ended meanwhile
    }
  }
  let total = 0;
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop()!;
    total += stats.get(pid)?.cpu ?? 0;
    for (const [child, s] of stats) if (s.ppid === pid) todo.push(child);
  }
  return total;
}

/** CPU seconds of the PostgreSQL cluster: the postmaster, the backends it has reaped (cutime/cstime) and the live ones. */
function postgresCpuSeconds(pg: PostgresCluster): number {
  const pid = Number(readFileSync(join(pg.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const rest = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = rest.slice(rest.lastIndexOf(')') + 2).split(' ');
  // fields 14-17 of /proc/PID/stat are utime, stime, cutime, cstime (index 11-14 after the command name)
  const reaped = (Number(f[13]) + Number(f[14])) / 100;
  return cpuSeconds(pid) + reaped;
}

function pct(sorted: number[], p: number) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  let pg: PostgresCluster | undefined;
  if (POSTGRES) pg = await startPostgres();
  const port = await freePort();
  let server: AppServer = await startAppServer({ port, ...(pg ? { databaseUrl: pg.url } : {}) });
  const base = server.url;
  console.log(`ingest bench: ${RUNS} runs × ${HZ} Hz × ${SECONDS} s, ${STEPS_PER_BATCH} steps × ${KEYS.length} keys per batch, ${POSTGRES ? 'PostgreSQL' : 'SQLite'} at ${server.databaseUrl}`);

  // Each run is its own browser: its own owner cookie from its first write.
  const clients: RunClient[] = [];
  for (let r = 0; r < RUNS; r++) {
    const res = await fetch(`${base}/api/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: `bench run ${r}`,
        task: 'mqar',
        seed: r,
        status: 'running',
        design: { spec: { vocabSize: 16, dModel: 8, layers: [{ mixer: { type: 'attention', heads: 1, headDim: 8, window: null }, mlp: null }] } },
      }),
    });
    if (res.status !== 201) throw new Error(`creating run ${r}: ${res.status} ${await res.text()}`);
    const cookie = res.headers.get('set-cookie')!.split(';')[0];
    clients.push({ id: ((await res.json()) as { id: string }).id, cookie, queue: [], nextStep: 0, acked: new Map(), inserted: 0, duplicates: 0 });
  }

  let serverCpu = -cpuSeconds(server.pid);
  let dbCpu = pg ? -postgresCpuSeconds(pg) : 0;
  const t0 = performance.now();
  const period = 1000 / HZ;
  let producing = true;
  let killInfo = '';

  async function send(c: RunClient, b: Batch): Promise<boolean> {
    const start = performance.now();
    try {
      requests++;
      const res = await fetch(`${base}/api/runs/${c.id}/metrics`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: c.cookie },
        body: JSON.stringify({ points: b.points }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json()) as { inserted?: number; duplicates?: number; error?: string };
      if (!res.ok) throw new Error(`HTTP ${res.status} ${body.error ?? ''}`);
      latencies.push(performance.now() - start);
      c.inserted += body.inserted!;
      c.duplicates += body.duplicates!;
      for (const p of b.points) c.acked.set(`${p.key}|${p.step}`, p.value);
      return true;
    } catch (err) {
      failures++;
      const kind = serverUp ? `while up: ${(err as Error).message.slice(0, 80)}` : 'server down (connection refused/reset)';
      failureKinds.set(kind, (failureKinds.get(kind) ?? 0) + 1);
      return false;
    }
  }

  // Producer: every period, each run appends a batch to its queue (like a trainer reporting steps).
  const producer = (async () => {
    let tick = 0;
    while (performance.now() - t0 < SECONDS * 1000) {
      for (const [r, c] of clients.entries()) {
        const points = [];
        for (let s = 0; s < STEPS_PER_BATCH; s++, c.nextStep++) {
          for (const key of KEYS) points.push({ key, step: c.nextStep, value: value(r, key, c.nextStep), time: Date.now() });
        }
        c.queue.push({ points });
      }
      tick++;
      const wait = t0 + tick * period - performance.now();
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    }
    producing = false;
  })();

  // Senders: one in-flight request per run; a batch leaves the queue only once acknowledged.
  const senders = clients.map(async (c) => {
    while (producing || c.queue.length) {
      const b = c.queue[0];
      if (!b) {
        await new Promise((res) => setTimeout(res, 5));
        continue;
      }
      if (await send(c, b)) c.queue.shift();
      else await new Promise((res) => setTimeout(res, 100));
    }
  });

  // Chaos: SIGKILL the server halfway and restart it on the same database and port.
  const chaos = (async () => {
    if (!KILL) return;
    await new Promise((res) => setTimeout(res, (SECONDS * 1000) / 2));
    const ackedBefore = clients.reduce((a, c) => a + c.acked.size, 0);
    const k0 = performance.now();
    serverUp = false;
    serverCpu += cpuSeconds(server.pid);
    await server.kill('SIGKILL');
    const restarted = await startAppServer({ port, dataDir: server.dataDir, databaseUrl: server.databaseUrl });
    serverCpu -= cpuSeconds(restarted.pid);
    serverUp = true;
    const oldServer = server;
    server = restarted;
    void oldServer;
    killInfo = `killed (SIGKILL) at ${((k0 - t0) / 1000).toFixed(1)} s with ${ackedBefore} points acknowledged; back after ${((performance.now() - k0) / 1000).toFixed(1)} s`;
  })();

  await producer;
  await chaos;
  await Promise.all(senders);
  const elapsed = (performance.now() - t0) / 1000;
  serverCpu += cpuSeconds(server.pid);
  if (pg) dbCpu += postgresCpuSeconds(pg);
  const load = loadavg()[0];

  // Verify: read every series back through the API and compare with what was acknowledged.
  let lost = 0;
  let wrong = 0;
  let stored = 0;
  let insertedTotal = 0;
  let generated = 0;
  for (const c of clients) {
    insertedTotal += c.inserted;
    generated += c.nextStep * KEYS.length;
    const seen = new Set<string>();
    for (const key of KEYS) {
      let after = -1;
      for (;;) {
        const res = await fetch(`${base}/api/runs/${c.id}/metrics?key=${encodeURIComponent(key)}&after=${after}&limit=10000`, { headers: { cookie: c.cookie } });
        const page = (await res.json()) as { steps: number[]; values: number[]; next: number | null };
        page.steps.forEach((s, i) => {
          const id = `${key}|${s}`;
          if (seen.has(id)) throw new Error(`duplicate point ${id} in run ${c.id}`);
          seen.add(id);
          stored++;
          const want = c.acked.get(id);
          if (want === undefined || want !== page.values[i]) wrong++;
        });
        if (page.next === null) break;
        after = page.next;
      }
    }
    for (const id of c.acked.keys()) if (!seen.has(id)) lost++;
  }
  const acked = clients.reduce((a, c) => a + c.acked.size, 0);
  await server.stop();
  // The restarted server was given the first one's data dir, so stop() leaves it: remove it here.
  rmSync(server.dataDir, { recursive: true, force: true });
  await pg?.stop();

  const sorted = [...latencies].sort((a, b) => a - b);
  const fmt = (v: number) => `${v.toFixed(1)} ms`;
  console.log('');
  console.log(`requests        ${requests} (${latencies.length} acknowledged, ${failures} failed and retried) in ${elapsed.toFixed(1)} s = ${(latencies.length / elapsed).toFixed(0)} acknowledged batches/s`);
  for (const [k, n] of failureKinds) console.log(`  failures: ${n} × ${k}`);
  console.log(`points          generated ${generated}, acknowledged ${acked}, stored ${stored}; responses said ${insertedTotal} inserted + ${clients.reduce((a, c) => a + c.duplicates, 0)} duplicates`);
  console.log(`latency         p50 ${fmt(pct(sorted, 50))}  p90 ${fmt(pct(sorted, 90))}  p99 ${fmt(pct(sorted, 99))}  max ${fmt(sorted[sorted.length - 1] ?? NaN)}`);
  if (killInfo) console.log(`restart         ${killInfo}`);
  console.log(
    `server CPU      ${serverCpu.toFixed(1)} s for ${latencies.length} batches = ${((serverCpu / latencies.length) * 1000).toFixed(2)} ms per ${STEPS_PER_BATCH * KEYS.length}-point batch → one core sustains ~${(latencies.length / serverCpu).toFixed(0)} batches/s (needed: ${RUNS * HZ}/s); machine load average ${load.toFixed(1)} on ${readdirSync('/sys/devices/system/cpu').filter((d) => /^cpu\d+$/.test(d)).length} CPUs`,
  );
  if (pg) console.log(`PostgreSQL CPU  ${dbCpu.toFixed(1)} s = ${((dbCpu / latencies.length) * 1000).toFixed(2)} ms per batch (the cluster's own processes, on top of the server's)`);
  const duplicatesReported = clients.reduce((a, c) => a + c.duplicates, 0);
  // Points whose batch committed just before the kill were acknowledged only by their retry, as duplicates.
  const committedUnacked = stored - insertedTotal;
  console.log(
    `verification    lost ${lost}, duplicated ${Math.max(0, stored - acked)}, wrong values ${wrong}; ${committedUnacked} points were committed but unacknowledged (at the kill or a client timeout; = duplicates reported on retry: ${committedUnacked === duplicatesReported})`,
  );
  const ok = lost === 0 && wrong === 0 && stored === acked && acked === generated && committedUnacked === duplicatesReported;
  console.log(ok ? 'RESULT ok: every acknowledged point is stored exactly once' : 'RESULT FAILED');
  process.exit(ok ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
