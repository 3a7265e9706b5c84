/**
 * Titans checkpoints saved before session 2's momentum fix held a learned initial momentum in `state0`
 * ([H, memory + momentum], twice the memory). They load: the memory part, its AdamW moments, a notice naming the
 * parameter, both shapes and the size of the dropped momentum; training goes on. Other size mismatches stay errors.
 */
import { describe, expect, it } from 'vitest';
import { Trainer } from '@/engine/train/trainer';
import { encodeCheckpoint, importCheckpoint, upgradeCheckpointState } from '@/engine/train/checkpoint';
import type { TrainState } from '@/engine/train/backend';
import { createTask } from '@/engine/tasks';
import { getPreset } from '@/engine/presets';
import { createTrainer } from '@/engine/worker/engine-trainer';
import { TrainConfigSchema } from '@/engine/worker/protocol';

const task = createTask('mqar', { vocabSize: 16, kvPairs: 2 }, 0);
const titans = getPreset('titans').build({ vocabSize: task.vocabSize, dModel: 16, nLayers: 1 });
const config = { steps: 4, batch: 1, seqLen: 8, lr: 0.01, warmupSteps: 0 };
const NAME = 'layers.0.mixer.state0';

/** The state as the pre-fix code saved it: state0 rows of [memory, momentum], moments the same size. */
function legacy(s: TrainState, heads: number, momentum: (i: number) => number): TrainState {
  const mem = s.params[NAME].data;
  const per = mem.length / heads;
  const widen = (x: Float32Array, fill: (i: number) => number) => {
    const out = new Float32Array(2 * x.length);
    for (let h = 0; h < heads; h++) {
      out.set(x.subarray(h * per, (h + 1) * per), 2 * h * per);
      for (let j = 0; j < per; j++) out[2 * h * per + per + j] = fill(j);
    }
    return out;
  };
  return {
    params: { ...s.params, [NAME]: { shape: [heads, 2 * per], data: widen(mem, momentum) } },
    m: { ...s.m, [NAME]: widen(Float32Array.from(mem, (_, i) => i + 1), () => 7) },
    v: { ...s.v, [NAME]: widen(Float32Array.from(mem, (_, i) => 2 * i + 1), () => 9) },
  };
}

describe('loading Titans checkpoints saved before the momentum fix', () => {
  it('loads the memory part with its optimizer moments and says what was dropped', async () => {
    const a = await Trainer.create({ spec: titans, task, config, backend: 'reference' });
    await a.step();
    const s = await a.backend.getState();
    const heads = (titans.layers[0].mixer as { heads: number }).heads;
    const old = legacy(s, heads, (j) => (j % 2 ? 0.25 : -0.5));
    const bytes = encodeCheckpoint(old, { step: 1, spec: titans });

    const b = await Trainer.create({ spec: titans, task, config, backend: 'reference' });
    const ck = await importCheckpoint(b, bytes);
    expect(ck.step).toBe(1);
    expect(ck.notices).toHaveLength(1);
    const per = s.params[NAME].data.length / heads;
    expect(ck.notices![0]).toContain(`${NAME}: this checkpoint was saved before the Titans momentum fix`);
    expect(ck.notices![0]).toContain(`[${heads}, ${2 * per}] = memory + momentum`);
    expect(ck.notices![0]).toContain(`Loaded its memory part ([${heads}, ${per}])`);
    expect(ck.notices![0]).toContain('largest |value| 0.500');
    const loaded = await b.backend.getState();
    expect(Array.from(loaded.params[NAME].data)).toEqual(Array.from(s.params[NAME].data));
    expect(Array.from(loaded.m[NAME])).toEqual(Array.from(s.params[NAME].data, (_, i) => i + 1));
    expect(Array.from(loaded.v[NAME])).toEqual(Array.from(s.params[NAME].data, (_, i) => 2 * i + 1));
    // every other parameter as saved; training continues
    for (const k of Object.keys(s.params)) expect(Array.from(loaded.params[k].data), k).toEqual(Array.from(s.params[k].data));
    expect(Number.isFinite((await b.step()).loss)).toBe(true);
    a.destroy();
    b.destroy();
  });

  it('passes the notice to the worker handle; current checkpoints load with none', async () => {
    const cfg = TrainConfigSchema.parse({ task: 'mqar', taskSettings: { vocabSize: 16, kvPairs: 2 }, steps: 2, batch: 1, seqLen: 8, lr: 0.01, backend: 'reference' });
    const h = await createTrainer({ spec: titans, task, config: cfg });
    const current = await h.exportCheckpoint();
    expect(await h.importCheckpoint(current)).toEqual({ step: 0, notices: [] });
    const t = await Trainer.create({ spec: titans, task, config, backend: 'reference' });
    const s = await t.backend.getState();
    const old = encodeCheckpoint(legacy(s, (titans.layers[0].mixer as { heads: number }).heads, () => 1), { step: 3 });
    const r = await h.importCheckpoint(old.buffer.slice(old.byteOffset, old.byteOffset + old.byteLength) as ArrayBuffer);
    expect(r.step).toBe(3);
    expect(r.notices).toHaveLength(1);
    h.dispose();
    t.destroy();
  });

  it('leaves other mismatches to the specific error, and models without momentum untouched', async () => {
    const t = await Trainer.create({ spec: titans, task, config, backend: 'reference' });
    const s = await t.backend.getState();
    const heads = (titans.layers[0].mixer as { heads: number }).heads;
    const n = s.params[NAME].data.length;
    // three times the memory is no layout this code ever saved
    const odd: TrainState = {
      params: { ...s.params, [NAME]: { shape: [heads, (3 * n) / heads], data: new Float32Array(3 * n) } },
      m: { ...s.m, [NAME]: new Float32Array(3 * n) },
      v: { ...s.v, [NAME]: new Float32Array(3 * n) },
    };
    expect(upgradeCheckpointState(t.backend.model, odd).notices).toEqual([]);
    await expect(importCheckpoint(t, encodeCheckpoint(odd, { step: 0 }))).rejects.toThrow(`checkpoint parameter "${NAME}" has ${3 * n} values, the model needs ${n}`);
    // Yaad learns its initial state with plain gradient descent (no momentum): nothing to upgrade
    const yaad = getPreset('yaad').build({ vocabSize: task.vocabSize, dModel: 16, nLayers: 1 });
    const y = await Trainer.create({ spec: yaad, task, config, backend: 'reference' });
    const ys = await y.backend.getState();
    const doubled: TrainState = { ...ys, params: { ...ys.params, [NAME]: { shape: [1, 2 * ys.params[NAME].data.length], data: new Float32Array(2 * ys.params[NAME].data.length) } } };
    expect(upgradeCheckpointState(y.backend.model, doubled).notices).toEqual([]);
    t.destroy();
    y.destroy();
  });
});
