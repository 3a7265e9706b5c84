/**
 * `miras check`: a whole model at small shapes, WebGPU (f32) against the float64 reference:
 * forward logits and every parameter's gradient, max relative error per tensor (relative to
 * the reference tensor's largest magnitude). Exits 1 past tolerance (forward 1e-4, grads 1e-3).
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
    const rows: { tensor: string; relError: number; tol: number; ok: boolean }[] = [];
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
      gpu.destroy();
    } finally {
      g.gpu.destroy();
    }
    const failed = rows.filter((r) => !r.ok);
    if (f.json) console.log(JSON.stringify({ model: source, device: g.summary, batch: B, seqLen: T, rows, failed: failed.length }, null, 2));
    else {
      console.log(`${source} · batch ${B} × seq ${T} · vocab ${spec.vocabSize} · ${g.summary}`);
      const w = Math.max(...rows.map((r) => r.tensor.length));
      for (const r of rows) console.log(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.tensor.padEnd(w)}  max rel err ${r.relError.toExponential(2)}  (tol ${r.tol.toExponential(0)})`);
      console.log(failed.length ? `${failed.length} of ${rows.length} tensors past tolerance` : `all ${rows.length} tensors within tolerance`);
    }
    return failed.length ? 1 : 0;
  },
};
