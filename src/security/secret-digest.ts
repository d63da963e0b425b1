import { createHash, timingSafeEqual } from 'node:crypto';

/** SHA-256 of a secret: what is kept in memory or stored in its place. */
export function secretDigest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/**
 * Whether a presented secret is the one behind `digest`, in constant time: both sides are SHA-256 digests of equal
 * length, so the time taken says nothing about the secret, its length or where the two differ. No digest (nothing
 * configured) matches nothing.
 */
export function matchesSecret(presented: string, digest: Buffer | null): boolean {
  return digest !== null && timingSafeEqual(secretDigest(presented), digest);
}
