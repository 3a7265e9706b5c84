/**
 * Ownership without accounts. A browser's identity is a random token in the httpOnly cookie
 * `miras_owner` (proxy.ts hands one out on the first page visit; an API write without one gets one
 * in its response). Scripts may send the same token as `Authorization: Bearer <token>`.
 * The database stores only SHA-256(token), so a leaked database does not leak anyone's write access.
 */
import { createHash } from 'node:crypto';
import { getDb } from './db';
import { newId, newOwnerToken, OWNER_TOKEN_PATTERN } from './ids';
import { forbidden } from './errors';

export const OWNER_COOKIE = 'miras_owner';
const ONE_YEAR_S = 365 * 24 * 3600;

export interface Owner {
  id: string;
  /** Set-Cookie value when this request created the owner's token. */
  setCookie?: string;
}

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export function ownerCookie(token: string, secure = false): string {
  return `${OWNER_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${ONE_YEAR_S}${secure ? '; Secure' : ''}`;
}

/** The owner token a request carries (cookie first, then bearer), or null when absent or malformed. */
export function ownerToken(req: Request): string | null {
  const cookie = req.headers.get('cookie') ?? '';
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === OWNER_COOKIE) {
      const value = part.slice(eq + 1).trim();
      if (OWNER_TOKEN_PATTERN.test(value)) return value;
    }
  }
  const auth = req.headers.get('authorization') ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(auth);
  return m && OWNER_TOKEN_PATTERN.test(m[1]) ? m[1] : null;
}

function isSecure(req: Request): boolean {
  const proto = req.headers.get('x-forwarded-proto');
  return proto ? proto.split(',')[0].trim() === 'https' : req.url.startsWith('https:');
}

/** tokenHash → owner id: owners are never deleted or re-keyed, so this cache cannot go stale. */
const ownerIds = new Map<string, string>();
function remember(tokenHash: string, id: string) {
  if (ownerIds.size >= 10_000) ownerIds.clear();
  ownerIds.set(tokenHash, id);
}

/** The caller's owner id if it has one, without creating anything (reads). */
export async function viewer(req: Request): Promise<string | null> {
  return ownerIdForToken(ownerToken(req));
}

/** The owner id a token belongs to (null for none, malformed or unknown tokens). */
export async function ownerIdForToken(token: string | null | undefined): Promise<string | null> {
  if (!token || !OWNER_TOKEN_PATTERN.test(token)) return null;
  const tokenHash = hashToken(token);
  const cached = ownerIds.get(tokenHash);
  if (cached) return cached;
  const db = await getDb();
  const row = await db.owner.findUnique({ where: { tokenHash }, select: { id: true } });
  if (row) remember(tokenHash, row.id);
  return row?.id ?? null;
}

/** The caller as an owner, creating the owner (and its cookie) on first write. */
export async function requireOwner(req: Request): Promise<Owner> {
  const existing = ownerToken(req);
  const token = existing ?? newOwnerToken();
  const tokenHash = hashToken(token);
  // A known token (every ingest batch after the first) is answered from memory, without touching the database.
  const cached = ownerIds.get(tokenHash);
  if (cached) return { id: cached };
  const db = await getDb();
  // Read first: nearly every write comes from a known owner, and a read takes no write lock.
  const known = existing ? await db.owner.findUnique({ where: { tokenHash }, select: { id: true } }) : null;
  const row = known ?? (await db.owner.upsert({ where: { tokenHash }, create: { id: newId(), tokenHash }, update: {}, select: { id: true } }));
  remember(tokenHash, row.id);
  return existing ? { id: row.id } : { id: row.id, setCookie: ownerCookie(token, isSecure(req)) };
}

export function assertOwner(ownerId: string | null, resourceOwnerId: string, what: string): void {
  if (ownerId !== resourceOwnerId) throw forbidden(what);
}
