/** Random identifiers from crypto.randomBytes, base64url-encoded (no cuid: these ids act as capabilities). */
import { randomBytes } from 'node:crypto';

/** Row ids: 128 random bits (22 characters). */
export const newId = (): string => randomBytes(16).toString('base64url');

/** Share slugs: 144 random bits (24 characters), comfortably above the 120-bit floor. */
export const SLUG_BYTES = 18;
export const newSlug = (): string => randomBytes(SLUG_BYTES).toString('base64url');
export const SLUG_PATTERN = /^[A-Za-z0-9_-]{24}$/;

/** Owner tokens (the cookie): 256 random bits (43 characters). Only their SHA-256 is stored. */
export const newOwnerToken = (): string => randomBytes(32).toString('base64url');
export const OWNER_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
