/**
 * `miras check`: a whole model at small shapes, WebGPU (f32) against the float64 reference:
 * forward logits and every parameter's gradient, max relative error per tensor (relative to
 * the reference tensor's largest magnitude). Exits 1 past tolerance (forward 1e-4, grads 1e-3).
 * Conditioning: some models amplify rounding (Yaad's ℓ1 switch, Memora's positive KL memory under LayerNorm: their float64
 * logits move by 1e-4–1e-3 when the parameters move by one f32 ulp). The check measures that on the reference and widens a
 * tensor's tolerance to COND_FACTOR × its own sensitivity where that is larger, and says so; a wrong kernel is off by O(1).
 * `check --random N ...` and `check --scan ...` run helper B's scan-kernel check instead.
 */
import { createBackend } from '../../engine/train/backend';
import { relError } from '../../engine/reference/compare';
import { Rng } from '../../engine/tasks/rng';
import { MIRAS_CLI_COMMANDS } from '../../engine/miras/cli/commands';
import { parseArgs, type Command } from './args';
import { cliGpu } from './gpu';
import { MODEL_FLAGS, modelFrom } from './model-source';

const flags = {
  ...MODEL_FLAGS,
  vocab: { type: 'int', help: 'vocabulary size of the check model', default: 37 },
  batch: { type: 'int', help: 'batch', default: 2 },
  seq: { type: 'int', help: 'sequence length (odd on purpose)', default: 11 },
  seed: { type: 'int', help: 'init and data seed', default: 0 },
  'tol-forward': { type: 'number', help: 'forward tolerance', default: 1e-4 },
  'tol-grad': { type: 'number', help: 'gradient tolerance', default: 1e-3 },
  json: { type: 'boolean', help: 'print JSON' },
} as const;

/** An f32 pipeline rounds parameters, activations and states thousands of times; one ulp on the parameters is the unit. */
const COND_FACTOR = 10;

/** The float64 model's own change (max rel err per tensor) when every parameter moves by one f32 ulp at random. */
async function conditioning(ref: Awaited<ReturnType<typeof createBackend>>, batch: { inputs: Int32Array; targets: Int32Array }, rf: { logits: ArrayLike<number> }, rg: Record<string, ArrayLike<number>>, seed: number) {
  const state = await ref.getState();
  const saved = Object.fromEntries(Object.entries(state.params).map(([n, p]) => [n, Float32Array.from(p.data)]));
  const rng = new Rng(seed + 1);
  for (const p of Object.values(state.params)) for (let i = 0; i < p.data.length; i++) p.data[i] = Math.fround(p.data[i] * (1 + (rng.next() < 0.5 ? -1 : 1) * 2 ** -23));
  await ref.setState(state);
  const [pf, pg] = [await ref.forward(batch), await ref.gradients(batch)];
  for (const [n, d] of Object.entries(saved)) state.params[n].data.set(d);
  await ref.setState(state);
  const cond: Record<string, number> = { logits: relError(pf.logits, rf.logits) };
  for (const name of Object.keys(rg)) cond[`grad ${name}`] = relError(pg.grads[name], rg[name]);
  return cond;
}

export const checkCommand: Command = {
  name: 'check',
  summary: 'compare WebGPU with the float64 reference: logits and every gradient (or --random/--scan: scan kernels)',
  flags,
  async run(argv) {
    if (argv.includes('--random') || argv.includes('--scan')) {
      const scanCheck = MIRAS_CLI_COMMANDS.find((c) => c.name === 'check')!;
      return scanCheck.run(argv.filter((a) => a !== '--scan'));
    }
    const f = parseArgs(argv, this.flags, 'check');
    const V = f.vocab as number;
    const { spec, source } = modelFrom(f, V, { dModel: 32, layers: 2 });
    const B = f.batch as number;
    const T = f.seq as number;
    const rng = new Rng(f.seed as number);
    const inputs = Int32Array.from({ length: B * T }, () => rng.int(0, spec.vocabSize));
    // Every 5th target ignored: the mask path is part of the check.
    const targets = Int32Array.from({ length: B * T }, (_, i) => (i % 5 === 3 ? -1 : rng.int(0, spec.vocabSize)));
    const batch = { inputs, targets };
    const g = await cliGpu();
    const rows: { tensor: string; relError: number; tol: number; ok: boolean; conditioned?: number }[] = [];
    let conditioned: number | null = null;
    try {
      const common = { spec, batch: B, seqLen: T, seed: f.seed as number };
      const ref = await createBackend({ ...common, kind: 'reference' });
      const gpu = await createBackend({ ...common, kind: 'webgpu', device: g.gpu.device, caps: g.caps, tiled: g.tiled });
      const [rf, gf] = [await ref.forward(batch), await gpu.forward(batch)];
      const tf = f['tol-forward'] as number;
      const tg = f['tol-grad'] as number;
      const push = (tensor: string, e: number, tol: number) => rows.push({ tensor, relError: e, tol, ok: e <= tol });
      push('logits', relError(gf.logits, rf.logits), tf);
      push('loss', relError([gf.loss], [rf.loss]), tf);
      const [rg, gg] = [await ref.gradients(batch), await gpu.gradients(batch)];
      for (const name of Object.keys(rg.grads)) push(`grad ${name}`, relError(gg.grads[name], rg.grads[name]), tg);
      if (rows.some((r) => !r.ok)) {
        // Before failing, ask how much the float64 model itself moves under f32-sized parameter noise.
        const cond = await conditioning(ref, batch, rf, rg.grads, f.seed as number);
        for (const r of rows) {
          const widened = COND_FACTOR * (cond[r.tensor] ?? 0);
          if (widened > r.tol) Object.assign(r, { tol: widened, ok: r.relError <= widened, conditioned: cond[r.tensor] });
        }
        conditioned = cond.logits;
      }
      gpu.destroy();
    } finally {
      g.gpu.destroy();
    }
    const failed = rows.filter((r) => !r.ok);
    if (f.json) console.log(JSON.stringify({ model: source, device: g.summary, batch: B, seqLen: T, conditioned, condFactor: COND_FACTOR, rows, failed: failed.length }, null, 2));
    else {
      console.log(`${source} · batch ${B} × seq ${T} · vocab ${spec.vocabSize} · ${g.summary}`);
      if (conditioned !== null) {
        console.log(
          `ill-conditioned model: one f32 ulp of parameter noise moves the float64 logits by ${conditioned.toExponential(2)}; ` +
            `tolerances marked * are ${COND_FACTOR}× the reference's own change for that tensor`,
        );
      }
      const w = Math.max(...rows.map((r) => r.tensor.length));
      for (const r of rows) console.log(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.tensor.padEnd(w)}  max rel err ${r.relError.toExponential(2)}  (tol ${r.tol.toExponential(0)}${r.conditioned !== undefined ? '*' : ''})`);
      console.log(failed.length ? `${failed.length} of ${rows.length} tensors past tolerance` : `all ${rows.length} tensors within tolerance`);
    }
    return failed.length ? 1 : 0;
  },
};
