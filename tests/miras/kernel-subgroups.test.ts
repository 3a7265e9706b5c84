/**
 * The `subgroups` path of the fused recurrent forward (engine/miras/recurrent/codegen.ts, subgroupCheck): the
 * chain's column sums (Sᵀk) as a subgroupShuffleXor butterfly, taken only where the device has `subgroups` and a
 * run-time check proves the lane mapping. SwiftShader has subgroups of 4, so P = 2 and 4 take the subgroup path
 * and P = 8 takes the in-kernel fallback (same column-major layout, workgroup memory); caps without subgroups give
 * the unchanged kernel. Outputs and every gradient against the float64 oracle.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from '../helpers/gpu';
import { DEFAULT_CAPS, type DeviceCaps } from '@/engine/plan/kernel';
import { adapterSummary, capsFromDescription } from '@/engine/gpu/describe';
import { comboInputs, comboOutputs, resolveCombo } from '@/engine/miras/math/combo';
import { recurrentKernels, SG_VARS, SUBGROUP_CHAIN, subgroupCheck, type RecurrentOptions } from '@/engine/miras/recurrent/codegen';
import { runScanKernels } from '@/engine/miras/recurrent/run';
import { referenceProviderFor } from '@/engine/miras/reference/provider';
import { gauss, mixer, randomInputs, relErr, rng } from './kernel-helpers';

const SG: DeviceCaps = { ...DEFAULT_CAPS, subgroups: true };
const s = { batch: 2, time: 11, heads: 2, dk: 16, dv: 16 };
const fwdOf = (k: { forward: { name: string; wgsl: string }[] }) => k.forward.find((x) => x.name === 'miras_recurrent_fwd')!.wgsl;
const fwd = (args: Parameters<typeof mixer>, caps: DeviceCaps, tune?: RecurrentOptions['tune']) =>
  fwdOf(recurrentKernels(resolveCombo(mixer(...args)), s, caps, { checkpoint: 6, tune }));
const GDN: Parameters<typeof mixer> = ['matrix', ['l2'], ['scalar'], ['gd']];

describe('recurrent forward: subgroups used when present, never assumed', () => {
  it('emits subgroup builtins only when caps have subgroups (and the kernel has a chain column sum)', () => {
    // the chain's butterfly is opt-in (tune.forward.subgroups; default SUBGROUP_CHAIN, off: slower than the
    // workgroup-memory sums on the H200)
    expect(fwd(GDN, SG, { forward: { P: 2 } }).includes('subgroupShuffleXor')).toBe(SUBGROUP_CHAIN);
    const on = fwd(GDN, SG, { forward: { P: 2, subgroups: true } });
    expect(on.startsWith('enable subgroups;')).toBe(true);
    expect(on).toContain('subgroupShuffleXor');
    expect(on).toContain('@builtin(subgroup_size)');
    expect(on).toContain('workgroupUniformLoad(&sgflag)');
    const off = fwd(GDN, DEFAULT_CAPS, { forward: { P: 2 } });
    expect(off).not.toMatch(/subgroup/);
    expect(off).toContain('let jl = t % TV;');
    // P = 1 has no column sum; Hebbian steps have none on the chain
    expect(fwd(GDN, SG, { forward: { P: 1, subgroups: true } })).not.toMatch(/subgroup/);
    expect(fwd(['matrix', ['dot'], ['scalar'], ['gd']], SG, { forward: { P: 2, subgroups: true } })).not.toMatch(/subgroup/);
  });

  it('the run-time lane check passes where the subgroup covers the column and fails where it cannot', async () => {
    const { device, description } = await testGpu();
    expect(description.features, 'this adapter offers subgroups (SwiftShader does)').toContain('subgroups');
    const got: Record<number, number> = {};
    for (const P of [2, 4, 8, 128]) {
      const W = 16 * P > 256 ? 256 : 16 * P;
      const code = `enable subgroups;
${SG_VARS}
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(${W})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(subgroup_size) sgsz: u32) {
  let t = lid.x;
  ${subgroupCheck(P)}
  if (t == 0u) { out[0] = select(0u, 1u, sgok); out[1] = sgsz; }
}`;
      const mod = device.createShaderModule({ code });
      const info = await mod.getCompilationInfo();
      expect(info.messages.filter((m) => m.type === 'error').map((m) => m.message)).toEqual([]);
      const pipe = device.createComputePipeline({ layout: 'auto', compute: { module: mod, entryPoint: 'main' } });
      const buf = device.createBuffer({ size: 8, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
      const rd = device.createBuffer({ size: 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipe);
      pass.setBindGroup(0, device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] }));
      pass.dispatchWorkgroups(1);
      pass.end();
      enc.copyBufferToBuffer(buf, 0, rd, 0, 8);
      device.queue.submit([enc.finish()]);
      await rd.mapAsync(GPUMapMode.READ);
      const [ok, size] = new Uint32Array(rd.getMappedRange().slice(0));
      rd.unmap();
      console.log(`[kernel-subgroups] P = ${P}: subgroup size ${size}, subgroup path ${ok ? 'taken' : 'not taken'}`);
      got[P] = ok;
      // a subgroup smaller than P can never hold a column
      if (size < P) expect(ok, `P = ${P} > subgroup size ${size}`).toBe(0);
    }
    // SwiftShader (subgroups of 4) maps consecutive invocations to a subgroup: the path is taken for P = 2 and 4,
    // so the float64 comparisons below run the subgroup path here
    if (/swiftshader/i.test(adapterSummary(description))) {
      expect(got[2]).toBe(1);
      expect(got[4]).toBe(1);
    }
  });

  const CASES: [string, Parameters<typeof mixer>, RecurrentOptions['tune'], typeof s?][] = [
    ['gated deltanet, P = 2', GDN, { forward: { P: 2, LP: 3, subgroups: true } }],
    ['gated deltanet, P = 4, 8-column tiles', GDN, { forward: { P: 4, TV: 8, LP: 2, subgroups: true } }],
    ['gated deltanet, P = 8 (fallback inside the subgroup layout)', GDN, { forward: { P: 8, LP: 2, subgroups: true } }],
    ['huber norm (column sums over the workgroup), P = 4', ['matrix', ['huber', { variant: 'norm', delta: 'data' }], ['channel'], ['gd']], { forward: { P: 4, LP: 2, subgroups: true } }],
    ['memora-like kl (key: max and sum column reductions), P = 2', ['matrix', ['l2'], ['kl', { axis: 'key' }], ['gd'], 2, 16, 16, { memoryInit: 'uniform' }], { forward: { P: 2, subgroups: true } }],
    ['kl value (sums over values in the subgroup layout), P = 4', ['matrix', ['l2'], ['kl', { axis: 'value', scale: 2 }], ['momentum'], 2, 16, 16, { memoryInit: 'learned' }], { forward: { P: 4, subgroups: true } }],
    ['gated deltanet at d = 64, P = 4', ['matrix', ['l2'], ['scalar'], ['gd'], 1, 64, 64], { forward: { P: 4, subgroups: true } }, { batch: 1, time: 13, heads: 1, dk: 64, dv: 64 }],
  ];
  for (const [name, args, tune, shape = s] of CASES) {
    for (const withSg of [true, false]) {
      it(`${name}, ${withSg ? 'subgroups' : 'no subgroups'}: outputs and gradients vs float64`, async () => {
        const { device, description } = await testGpu();
        const caps = capsFromDescription(description);
        expect(caps.subgroups).toBe(true);
        const c = resolveCombo(mixer(...args));
        const x = randomInputs(c, shape, 11);
        const r = rng(13);
        const oracle = referenceProviderFor(c.catalog);
        const want = oracle.referenceForward(x, shape);
        const go = Float64Array.from(want.o, () => gauss(r));
        const gf = Float64Array.from(want.finalState, () => gauss(r));
        const wantG = oracle.referenceBackward(x, { o: go, finalState: gf }, shape);
        const k = recurrentKernels(c, shape, { ...caps, subgroups: withSg }, { checkpoint: 6, tune });
        expect(fwdOf(k).includes('subgroupShuffleXor')).toBe(withSg);
        const got = await runScanKernels(device, k, { inputs: comboInputs(c, shape), outputs: comboOutputs(c, shape) }, x, { o: go, finalState: gf });
        const eo = relErr(got.o, want.o);
        const ef = relErr(got.finalState, want.finalState);
        const eg = Object.fromEntries(Object.keys(wantG).map((n) => [n, relErr(got.grads![n], wantG[n])]));
        console.log(`[kernel-subgroups] ${name} ${withSg ? 'sg' : 'wg'}: o ${eo.toExponential(2)} S ${ef.toExponential(2)} grads ${Object.entries(eg).map(([n, e]) => `${n} ${e.toExponential(2)}`).join(' ')}`);
        expect(eo).toBeLessThan(1e-4);
        expect(ef).toBeLessThan(1e-4);
        for (const [n, e] of Object.entries(eg)) expect(e, `grad ${n}`).toBeLessThan(1e-3);
      });
    }
  }
});
