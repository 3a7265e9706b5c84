import { describe, expect, it } from 'vitest';
import { RunRecorder, type WirePoint } from '@/components/training/recorder';
import { decodeSafetensors, encodeSafetensors } from '@/engine/worker/safetensors';

/** An in-memory runs API: ingest keyed by (key, step) like the database, failing on demand. */
function flakyServer(failEvery: number) {
  const stored = new Map<string, number>();
  let calls = 0;
  const fetchImpl = (async (_url: string, init?: RequestInit) => {
    calls++;
    const body = JSON.parse(String(init?.body)) as { points: WirePoint[] };
    if (calls % failEvery === 0) throw new TypeError('Failed to fetch');
    // Store, then sometimes lose the answer: the client must retry, and retries must not duplicate.
    for (const p of body.points) if (!stored.has(`${p.key}@${p.step}`)) stored.set(`${p.key}@${p.step}`, p.value);
    if (calls % failEvery === 1 && calls > 1) return new Response('busy', { status: 503 });
    return new Response(JSON.stringify({ accepted: body.points.length }), { status: 200 });
  }) as typeof fetch;
  return { stored, fetchImpl };
}

describe('RunRecorder', () => {
  it('loses no point and duplicates none through failed requests and lost answers', async () => {
    const { stored, fetchImpl } = flakyServer(3);
    const r = new RunRecorder('run1', fetchImpl, 7, null);
    for (let step = 1; step <= 60; step++) r.add([{ key: 'train/loss', step, value: 1 / step }]);
    expect(await r.drain(60_000)).toBe(true);
    expect(stored.size).toBe(60);
    for (let step = 1; step <= 60; step++) expect(stored.get(`train/loss@${step}`)).toBe(1 / step);
  }, 60_000);

  it('keeps unsent points in storage across a reload', async () => {
    const mem = new Map<string, string>();
    const storage = { getItem: (k: string) => mem.get(k) ?? null, setItem: (k: string, v: string) => void mem.set(k, v), removeItem: (k: string) => void mem.delete(k) } as Storage;
    const down = (async () => { throw new TypeError('offline'); }) as typeof fetch;
    const r1 = new RunRecorder('run2', down, 100, storage);
    r1.add([{ key: 'train/loss', step: 1, value: 2 }, { key: 'train/loss', step: 2, value: 1.5 }]);
    await r1.flush();
    expect(r1.pendingCount).toBe(2);
    const { stored, fetchImpl } = flakyServer(1000);
    const r2 = new RunRecorder('run2', fetchImpl, 100, storage);
    expect(r2.pendingCount).toBe(2);
    expect(await r2.drain()).toBe(true);
    expect(stored.size).toBe(2);
    expect(mem.size).toBe(0);
  });
});

describe('safetensors', () => {
  it('round-trips tensors and metadata with an 8-byte aligned header', () => {
    const a = { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 4, 5, 6e-8]) };
    const b = { shape: [1], data: Float32Array.from([Math.PI]) };
    const bytes = encodeSafetensors({ 'layers.0.w': a, 'emb': b }, { step: '12' });
    const n = new DataView(bytes).getUint32(0, true);
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(new Uint8Array(bytes, 8, n)));
    expect(header['layers.0.w']).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [4, 28] });
    const back = decodeSafetensors(bytes);
    expect(back.metadata.step).toBe('12');
    expect(back.tensors['layers.0.w'].data).toEqual(a.data);
    expect(back.tensors.emb.data).toEqual(b.data);
    expect(() => decodeSafetensors(new ArrayBuffer(4))).toThrow(/not a safetensors file/);
    expect(() => encodeSafetensors({ x: { shape: [3], data: new Float32Array(2) } })).toThrow(/shape \[3\] but 2 values/);
  });
});

describe('RunRecorder after an empty flush', () => {
  it('still sends points added later (a reload with nothing pending)', async () => {
    const { stored, fetchImpl } = flakyServer(1000);
    const r = new RunRecorder('run3', fetchImpl, 100, null);
    await r.flush(); // nothing pending
    r.add([{ key: 'train/loss', step: 1, value: 3 }]);
    expect(await r.drain(5_000)).toBe(true);
    expect(stored.size).toBe(1);
  });
});
