/**
 * safetensors encoding (https://github.com/huggingface/safetensors, "Format"): an 8-byte
 * little-endian header length, a JSON header { name: { dtype, shape, data_offsets }, __metadata__ },
 * then the raw little-endian tensor bytes. Checkpoints of browser runs use it so the server can
 * index them and other tools can read them.
 */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

export function encodeSafetensors(tensors: Record<string, NamedTensor>, metadata: Record<string, string> = {}): ArrayBuffer {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`safetensors: tensor ${name} has shape [${t.shape}] but ${t.data.length} values`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  let json = JSON.stringify(header);
  while ((8 + new TextEncoder().encode(json).length) % 8 !== 0) json += ' ';
  const headerBytes = new TextEncoder().encode(json);
  const out = new ArrayBuffer(8 + headerBytes.length + offset);
  const view = new DataView(out);
  view.setUint32(0, headerBytes.length, true);
  view.setUint32(4, 0, true);
  new Uint8Array(out, 8, headerBytes.length).set(headerBytes);
  const body = 8 + headerBytes.length;
  for (const name of names) {
    const { data_offsets } = header[name] as { data_offsets: [number, number] };
    const src = tensors[name].data;
    const dst = new DataView(out, body + data_offsets[0], data_offsets[1] - data_offsets[0]);
    for (let i = 0; i < src.length; i++) dst.setFloat32(4 * i, src[i], true);
  }
  return out;
}

export function decodeSafetensors(buf: ArrayBuffer): { tensors: Record<string, NamedTensor>; metadata: Record<string, string> } {
  if (buf.byteLength < 8) throw new Error('checkpoint is not a safetensors file: shorter than its 8-byte header length');
  const view = new DataView(buf);
  const n = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (8 + n > buf.byteLength) throw new Error(`checkpoint is not a safetensors file: header length ${n} exceeds the file`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, n)));
  } catch {
    throw new Error('checkpoint is not a safetensors file: its header is not JSON');
  }
  const body = 8 + n;
  const tensors: Record<string, NamedTensor> = {};
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (e.dtype !== 'F32') throw new Error(`checkpoint tensor ${name} has dtype ${e.dtype}; only F32 is supported`);
    const [a, b] = e.data_offsets;
    if (body + b > buf.byteLength || b - a !== 4 * e.shape.reduce((x, y) => x * y, 1)) {
      throw new Error(`checkpoint tensor ${name}: data offsets [${a}, ${b}] do not match its shape [${e.shape}] or the file size`);
    }
    const dv = new DataView(buf, body + a, b - a);
    const data = new Float32Array((b - a) / 4);
    for (let i = 0; i < data.length; i++) data[i] = dv.getFloat32(4 * i, true);
    tensors[name] = { shape: e.shape, data };
  }
  return { tensors, metadata };
}
