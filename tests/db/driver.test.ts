/**
 * The direct SQLite connection that metric ingest writes through (server/db.ts `driver`): its settings, and
 * that it shares file locks with Prisma's connection. It must come from the same SQLite library as Prisma's
 * adapter: with two library copies in one process, POSIX locks do not conflict and both would write at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '@/server/db';

describe('direct SQLite connection beside Prisma', () => {
  let dir: string;
  let database: Database;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'miras-driver-'));
    database = await openDatabase(`file:${join(dir, 'miras.db')}`);
  });

  afterAll(async () => {
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens in WAL mode with synchronous=NORMAL, foreign keys on and no synchronous busy wait', () => {
    if (database.driver.provider !== 'sqlite') throw new Error('expected the SQLite driver');
    const h = database.driver.handle;
    expect(h.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(h.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(h.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(h.pragma('busy_timeout', { simple: true })).toBe(0);
  });

  it("is locked out while a Prisma transaction holds the write lock, and sees Prisma's commits", async () => {
    if (database.driver.provider !== 'sqlite') throw new Error('expected the SQLite driver');
    const h = database.driver.handle;
    await database.db.owner.create({ data: { id: 'o1', tokenHash: 'a'.repeat(64) } });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inTx = new Promise<void>((r) => (entered = r));
    const tx = database.db.$transaction(async (t) => {
      await t.owner.update({ where: { id: 'o1' }, data: { tokenHash: 'b'.repeat(64) } });
      entered();
      await held;
    });
    await inTx;
    let code: unknown;
    try {
      h.prepare('BEGIN IMMEDIATE').run();
      h.prepare('ROLLBACK').run();
    } catch (err) {
      code = (err as { code?: unknown }).code;
    }
    release();
    await tx;
    expect(code).toBe('SQLITE_BUSY');
    expect(h.prepare('SELECT "tokenHash" FROM "Owner" WHERE "id" = ?').pluck().get('o1')).toBe('b'.repeat(64));
  });
});
