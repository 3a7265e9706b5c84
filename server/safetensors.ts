/**
 * safetensors header validation (https://github.com/huggingface/safetensors, "Format"):
 *   8 bytes  little-endian u64 N = header length
 *   N bytes  UTF-8 JSON: { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: {str: str} }
 *   rest     the byte buffer; offsets are relative to its start
 * Checked here: the header fits, is a JSON object, every tensor has a known dtype, a shape of
 * non-negative integers and offsets inside the buffer whose length equals dtype size × element count,
 * tensors do not overlap and together cover the whole buffer (no hidden bytes).
 */
export const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
};

/** The safetensors reference implementation caps the header at 100 MB; ours is stricter. */
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;

export interface TensorInfo {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export interface SafetensorsIndex {
  tensors: Record<string, TensorInfo>;
  metadata: Record<string, string>;
  headerBytes: number;
}

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

export function parseSafetensorsHeader(bytes: Uint8Array): SafetensorsIndex {
  const fail = (m: string): never => {
    throw new SafetensorsError(m);
  };
  if (bytes.byteLength < 8) fail(`file is ${bytes.byteLength} bytes; a safetensors file starts with an 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n} exceeds ${MAX_HEADER_BYTES} bytes`);
  const headerLen = Number(n);
  if (8 + headerLen > bytes.byteLength) fail(`header length ${headerLen} runs past the end of the ${bytes.byteLength}-byte file`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (err) {
    fail(`header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const bufferLen = bytes.byteLength - 8 - headerLen;
  const tensors: Record<string, TensorInfo> = {};
  let metadata: Record<string, string> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || Object.values(raw).some((v) => typeof v !== 'string')) {
        fail('__metadata__ must map strings to strings');
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const t = raw as Partial<TensorInfo> | null;
    if (typeof t !== 'object' || t === null) fail(`tensor "${name}" is not an object`);
    const { dtype, shape, data_offsets } = t as Partial<TensorInfo>;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) fail(`tensor "${name}" has unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(`tensor "${name}" has a shape that is not a list of non-negative integers`);
    if (!Array.isArray(data_offsets) || data_offsets.length !== 2 || data_offsets.some((o) => !Number.isSafeInteger(o) || o < 0)) {
      fail(`tensor "${name}" needs data_offsets [begin, end]`);
    }
    const [begin, end] = data_offsets as [number, number];
    if (begin > end || end > bufferLen) fail(`tensor "${name}" data_offsets [${begin}, ${end}] fall outside the ${bufferLen}-byte buffer`);
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    const want = elements * DTYPE_BYTES[dtype as string];
    if (end - begin !== want) fail(`tensor "${name}" is ${dtype} ${JSON.stringify(shape)} = ${want} bytes, but its data_offsets span ${end - begin}`);
    tensors[name] = { dtype: dtype as string, shape: shape as number[], data_offsets: [begin, end] };
    ranges.push([begin, end, name]);
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let at = 0;
  for (const [begin, end, name] of ranges) {
    if (begin < at) fail(`tensor "${name}" overlaps the previous tensor`);
    if (begin > at) fail(`${begin - at} bytes before tensor "${name}" belong to no tensor`);
    at = end;
  }
  if (at !== bufferLen) fail(`${bufferLen - at} bytes at the end of the buffer belong to no tensor`);
  return { tensors, metadata, headerBytes: headerLen };
}

/** Build a safetensors file (tests, benchmarks, and the trainer's reference for the format). */
export function encodeSafetensors(tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }>, metadata?: Record<string, string>): Uint8Array<ArrayBuffer> {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const names = Object.keys(tensors);
  for (const name of names) {
    const t = tensors[name];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the buffer starts 8-byte aligned, as the reference writer does.
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.byteLength;
  for (const name of names) {
    const d = tensors[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  return out;
}
