import { describe, expect, it } from 'vitest';
import { encodeSafetensors, parseSafetensorsHeader, SafetensorsError } from '@/server/safetensors';
import { newSlug, newId, newOwnerToken, SLUG_BYTES } from '@/server/ids';
import { databaseTarget } from '@/server/database-url';
import { fieldName } from '@/server/http';

function file(header: unknown, bufferBytes: number, headerLen?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + bufferBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen ?? json.byteLength), true);
  out.set(json, 8);
  return out;
}

describe('safetensors header validation', () => {
  it('round-trips what the encoder writes, with metadata and an 8-byte aligned buffer', () => {
    const a = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const b = Float32Array.from([7]);
    const bytes = encodeSafetensors({ 'layer.0.w': { dtype: 'F32', shape: [2, 3], data: a }, bias: { dtype: 'F32', shape: [1], data: b } }, { format: 'pt' });
    const idx = parseSafetensorsHeader(bytes);
    expect((8 + idx.headerBytes) % 8).toBe(0);
    expect(idx.metadata).toEqual({ format: 'pt' });
    expect(idx.tensors['layer.0.w']).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    const start = 8 + idx.headerBytes;
    expect(Array.from(new Float32Array(bytes.slice(start, start + 24).buffer))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('accepts every safetensors dtype and zero-sized tensors', () => {
    const idx = parseSafetensorsHeader(file({ a: { dtype: 'BF16', shape: [2], data_offsets: [0, 4] }, e: { dtype: 'I64', shape: [0, 3], data_offsets: [4, 4] }, z: { dtype: 'BOOL', shape: [], data_offsets: [4, 5] } }, 5));
    expect(Object.keys(idx.tensors)).toEqual(['a', 'e', 'z']);
  });

  const bad: [string, Uint8Array, RegExp][] = [
    ['too short', new Uint8Array(5), /8-byte header length/],
    ['header past the end', file({}, 0, 1000), /runs past the end/],
    ['huge header length', file({}, 0, 2 ** 40), /exceeds/],
    ['not JSON', file('{"a": ', 0), /not valid UTF-8 JSON/],
    ['JSON array', file([1, 2], 0), /not a JSON object/],
    ['unknown dtype', file({ w: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, 16), /unknown dtype "F128"/],
    ['negative dim', file({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), /shape/],
    ['size mismatch', file({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, 12), /16 bytes, but its data_offsets span 12/],
    ['offsets outside', file({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8), /outside the 8-byte buffer/],
    ['overlap', file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12), /overlaps/],
    ['gap', file({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), /belong to no tensor/],
    ['trailing bytes', file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 9), /at the end of the buffer belong to no tensor/],
    ['bad metadata', file({ __metadata__: { n: 3 } }, 0), /__metadata__/],
  ];
  for (const [what, bytes, msg] of bad) {
    it(`rejects ${what}`, () => {
      expect(() => parseSafetensorsHeader(bytes)).toThrow(SafetensorsError);
      expect(() => parseSafetensorsHeader(bytes)).toThrow(msg);
    });
  }
});

describe('identifiers', () => {
  it('share slugs carry at least 120 random bits, base64url', () => {
    expect(SLUG_BYTES * 8).toBeGreaterThanOrEqual(120);
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const s = newSlug();
      expect(s).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect(Buffer.from(s, 'base64url').length).toBe(SLUG_BYTES);
      seen.add(s);
    }
    expect(seen.size).toBe(5000);
    expect(newId()).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(newOwnerToken()).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('DATABASE_URL', () => {
  it('defaults to the SQLite file ./data/miras.db', () => {
    expect(databaseTarget(undefined, '/srv/app')).toEqual({ provider: 'sqlite', url: 'file:/srv/app/data/miras.db', path: '/srv/app/data/miras.db' });
    expect(databaseTarget('  ', '/srv/app').provider).toBe('sqlite');
  });
  it('resolves relative and absolute SQLite files and recognises PostgreSQL', () => {
    expect(databaseTarget('file:./x/y.db', '/a')).toMatchObject({ path: '/a/x/y.db' });
    expect(databaseTarget('file:/abs/y.db', '/a')).toMatchObject({ path: '/abs/y.db' });
    expect(databaseTarget('postgres://u:p@h:5432/d')).toEqual({ provider: 'postgresql', url: 'postgres://u:p@h:5432/d' });
    expect(databaseTarget('postgresql://h/d').provider).toBe('postgresql');
  });
  it('explains an unsupported URL without echoing credentials', () => {
    expect(() => databaseTarget('mysql://root:secret@h/d')).toThrow(/file: \(SQLite\) or postgres/);
    expect(() => databaseTarget('mysql://root:secret@h/d')).not.toThrow(/secret/);
  });
});

describe('field names in errors', () => {
  it('formats zod paths the way clients write them', () => {
    expect(fieldName(['points', 3, 'value'])).toBe('points[3].value');
    expect(fieldName([])).toBe('body');
    expect(fieldName([], 'query')).toBe('query');
    expect(fieldName(['spec', 'layers', 0, 'mixer'])).toBe('spec.layers[0].mixer');
  });
});
