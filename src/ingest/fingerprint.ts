import { createHash } from 'node:crypto';

// Fingerprints for duplicate detection: an exact one (a hash of the text with case, punctuation
// and spacing normalised away) and a 64-bit SimHash over word 2-shingles, whose Hamming distance
// to another text's SimHash says how near the two are.

export function normaliseForFingerprint(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[#>*_`~[\]()|-]+/g, ' ')
    .replace(/[^\p{L}\p{N}\s]+/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
}

export function exactFingerprint(text: string): string {
  return createHash('sha256').update(normaliseForFingerprint(text)).digest('hex');
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK = (1n << 64n) - 1n;

/** FNV-1a with MurmurHash3's finaliser: similar shingles must not get similar bit patterns. */
function hash64(text: string): bigint {
  let hash = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * FNV_PRIME) & MASK;
  }
  hash ^= hash >> 33n;
  hash = (hash * 0xff51afd7ed558ccdn) & MASK;
  hash ^= hash >> 33n;
  hash = (hash * 0xc4ceb9fe1a85ec53n) & MASK;
  return hash ^ (hash >> 33n);
}

/** SimHash of the text, as a signed 64-bit integer (what a PostgreSQL bigint holds). */
export function simhash64(text: string): bigint {
  const words = normaliseForFingerprint(text).split(' ').filter(Boolean);
  const shingles =
    words.length < 2 ? [words.join(' ')] : words.slice(0, -1).map((_, i) => `${words[i]} ${words[i + 1]}`);
  const weights = new Array<number>(64).fill(0);
  for (const shingle of shingles) {
    const hash = hash64(shingle);
    for (let bit = 0; bit < 64; bit++) weights[bit]! += (hash >> BigInt(bit)) & 1n ? 1 : -1;
  }
  let result = 0n;
  for (let bit = 0; bit < 64; bit++) if (weights[bit]! > 0) result |= 1n << BigInt(bit);
  return BigInt.asIntN(64, result);
}

export function hammingDistance(a: bigint, b: bigint): number {
  let x = BigInt.asUintN(64, a ^ b);
  let count = 0;
  while (x) {
    x &= x - 1n;
    count++;
  }
  return count;
}

/**
 * The SimHash cut into four 16-bit bands, each tagged with its position. Two hashes within three
 * bits of each other share at least one band (pigeonhole), so an index on the bands finds every
 * candidate for a distance of up to 3 without scanning.
 */
export function simhashBands(hash: bigint): number[] {
  const unsigned = BigInt.asUintN(64, hash);
  return [0, 1, 2, 3].map((band) => band * 65536 + Number((unsigned >> BigInt(band * 16)) & 0xffffn));
}
