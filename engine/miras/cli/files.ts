/**
 * safetensors files for the CLI (Node only): read F32/F64 tensors as float64, write F32.
 * Header parsing and the writer are the ones the runs server uses (server/safetensors.ts).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { encodeSafetensors, parseSafetensorsHeader } from '../../../server/safetensors';

export interface NamedTensor {
  shape: number[];
  data: Float64Array;
}

export async function readTensors(path: string): Promise<Record<string, NamedTensor>> {
  const bytes = new Uint8Array(await readFile(path));
  const index = parseSafetensorsHeader(bytes);
  const base = 8 + index.headerBytes;
  const out: Record<string, NamedTensor> = {};
  for (const [name, info] of Object.entries(index.tensors)) {
    const [begin, end] = info.data_offsets;
    const raw = bytes.slice(base + begin, base + end);
    let data: Float64Array;
    if (info.dtype === 'F32') data = Float64Array.from(new Float32Array(raw.buffer, raw.byteOffset, (end - begin) / 4));
    else if (info.dtype === 'F64') data = new Float64Array(raw.buffer, raw.byteOffset, (end - begin) / 8).slice();
    else throw new Error(`${path}: tensor "${name}" is ${info.dtype}; the scan reads F32 or F64 tensors`);
    out[name] = { shape: info.shape, data };
  }
  return out;
}

export async function writeTensors(path: string, tensors: Record<string, NamedTensor>, metadata?: Record<string, string>): Promise<void> {
  const f32: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of Object.entries(tensors)) f32[name] = { dtype: 'F32', shape: t.shape, data: Float32Array.from(t.data) };
  await writeFile(path, encodeSafetensors(f32, metadata));
}
