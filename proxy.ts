/**
 * Ownership without accounts: the first page visit gets an anonymous owner token in an httpOnly
 * cookie (server/owner.ts reads it; only its SHA-256 is ever stored). Pages only: API writes
 * without a cookie get one from the route handler itself.
 */
import { NextResponse, type NextRequest } from 'next/server';

const OWNER_COOKIE = 'miras_owner';
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function proxy(request: NextRequest) {
  if (TOKEN.test(request.cookies.get(OWNER_COOKIE)?.value ?? '')) return NextResponse.next();
  const token = newToken();
  // Let this very request's server components see the owner too.
  const headers = new Headers(request.headers);
  headers.set('cookie', [request.headers.get('cookie'), `${OWNER_COOKIE}=${token}`].filter(Boolean).join('; '));
  const response = NextResponse.next({ request: { headers } });
  response.cookies.set(OWNER_COOKIE, token, {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    maxAge: 365 * 24 * 3600,
    secure: request.nextUrl.protocol === 'https:',
  });
  return response;
}

export const config = {
  // Pages only: not the API, Next's assets or files with an extension.
  matcher: ['/((?!api/|_next/|.*\\.[A-Za-z0-9]+$).*)'],
};
