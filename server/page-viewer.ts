/** The visitor of a server-rendered page, from the owner cookie (proxy.ts sets it on the first visit). */
import { cookies } from 'next/headers';
import { OWNER_COOKIE, ownerIdForToken } from './owner';

export async function pageViewer(): Promise<string | null> {
  return ownerIdForToken((await cookies()).get(OWNER_COOKIE)?.value);
}
