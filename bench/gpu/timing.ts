/**
 * GPU timestamps around a forward and a backward kernel list (each kernel in its own pass), repeated:
 * per-rep forward and backward spans (first pass begin → last pass end) and per-kernel times, in ms.
 */
import { encode, type Dispatch } from '../../engine/miras/chunk/exec';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** A timestamp query set of `count` entries with its resolve and read-back buffers: `read(enc)` resolves, submits, waits and returns them. */
export function timestampReader(device: GPUDevice, count: number) {
  const qs = device.createQuerySet({ type: 'timestamp', count });
  const resolve = device.createBuffer({ size: count * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: count * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  return {
    set: qs,
    async read(enc: GPUCommandEncoder): Promise<BigUint64Array> {
      enc.resolveQuerySet(qs, 0, count, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, read, 0, count * 8);
      device.queue.submit([enc.finish()]);
      await read.mapAsync(GPUMapMode.READ);
      const ts = new BigUint64Array(read.getMappedRange().slice(0));
      read.unmap();
      return ts;
    },
    destroy() {
      qs.destroy();
      resolve.destroy();
      read.destroy();
    },
  };
}

export async function timeForwardBackward(device: GPUDevice, fw: Dispatch[], bw: Dispatch[], reps: number, warm: number) {
  const nq = 2 * (fw.length + bw.length);
  const stamps = timestampReader(device, nq);
  const fwd: number[] = [];
  const bwd: number[] = [];
  const perKernel: Record<string, number[]> = {};
  for (let r = 0; r < reps + warm; r++) {
    const enc = device.createCommandEncoder();
    encode(enc, fw, { set: stamps.set, base: 0 });
    encode(enc, bw, { set: stamps.set, base: 2 * fw.length });
    const ts = await stamps.read(enc);
    if (r < warm) continue;
    const ms = (a: number, b: number) => Number(ts[b] - ts[a]) / 1e6;
    fwd.push(ms(0, 2 * fw.length - 1));
    bwd.push(ms(2 * fw.length, nq - 1));
    [...fw, ...bw].forEach((d, i) => (perKernel[d.name] ??= []).push(ms(2 * i, 2 * i + 1)));
  }
  stamps.destroy();
  return { fwd, bwd, perKernel };
}
