/**
 * safetensors files for the CLI (Node only), through the engine's reader/writer (engine/io/safetensors):
 * F32 tensors, read as float64 for the reference.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { decodeSafetensors, encodeSafetensors } from '../../io/safetensors';

export interface NamedTensor {
  shape: number[];
  data: Float64Array;
}

export async function readTensors(path: string): Promise<Record<string, NamedTensor>> {
  const bytes = await readFile(path);
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message.replace(/^checkpoint /, '')}`);
  }
  const out: Record<string, NamedTensor> = {};
  for (const [name, t] of Object.entries(decoded.tensors)) out[name] = { shape: t.shape, data: Float64Array.from(t.data) };
  return out;
}

export async function writeTensors(path: string, tensors: Record<string, NamedTensor>, metadata?: Record<string, string>): Promise<void> {
  const f32: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of Object.entries(tensors)) f32[name] = { shape: t.shape, data: Float32Array.from(t.data) };
  await writeFile(path, new Uint8Array(encodeSafetensors(f32, metadata)));
}
