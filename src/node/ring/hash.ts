/**
 * The two hashes of the ring, both MurmurHash3 (Austin Appleby, public domain), byte for byte the
 * canonical MurmurHash3.cpp so that a client in any language can route a key the way a node does.
 *
 * - `partitionOf` runs on every request: MurmurHash3_x86_32 in plain 32-bit integer arithmetic
 *   (Math.imul), no BigInt and no allocation.
 * - Ring positions are 64-bit and are computed only while a placement is built:
 *   MurmurHash3_x64_128, first 64 bits. It runs on pairs of 32-bit words rather than BigInt
 *   because a placement of 64 nodes x 1024 vnodes hashes 65,536 token names and BigInt
 *   arithmetic allocates on every operation.
 */
import type { PartitionId } from "../ids.js";

/**
 * Seed of the key -> partition hash. Zero, so that any stock MurmurHash3_x86_32 with its default
 * seed computes the same partition. Changing it remaps every stored key: it is part of the data
 * format, not a tuning knob.
 */
export const PARTITION_HASH_SEED = 0;

/**
 * Seed of the ring-position hash. Zero for the same reason; changing it moves every token and so
 * every replica of every partition.
 */
export const RING_HASH_SEED = 0;

const X86_C1 = 0xcc9e2d51;
const X86_C2 = 0x1b873593;

/** MurmurHash3_x86_32 of `key`, as an unsigned 32-bit integer. */
export function murmurHash3X86_32(key: Uint8Array, seed: number): number {
  const length = key.length;
  const blocksEnd = length & ~3;
  let h = seed | 0;
  let i = 0;
  for (; i < blocksEnd; i += 4) {
    let k = readBlock(key, i);
    k = Math.imul(k, X86_C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, X86_C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < length) {
    let k = readTail(key, i, length - i);
    k = Math.imul(k, X86_C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, X86_C2);
    h ^= k;
  }
  // The reference mixes in the length as a 32-bit int; `| 0` keeps lengths past 2^31 identical.
  h ^= length | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The partition that owns `key`: MurmurHash3_x86_32(key, PARTITION_HASH_SEED) mod `partitions`.
 * Modulo bias is below partitions / 2^32, far under the sampling noise of any real key set.
 */
export function partitionOf(key: Uint8Array, partitions: number): PartitionId {
  if (!(Number.isInteger(partitions) && partitions >= 1 && partitions <= 0x1_0000_0000)) {
    throw new RangeError(`partitions must be an integer from 1 to 2^32, got ${partitions}`);
  }
  return (murmurHash3X86_32(key, PARTITION_HASH_SEED) % partitions) as PartitionId;
}

/** Little-endian 32-bit word at `at`, as the reference reads a block on x86. */
function readBlock(key: Uint8Array, at: number): number {
  return key[at] | (key[at + 1] << 8) | (key[at + 2] << 16) | (key[at + 3] << 24);
}

/** Little-endian word from the `count` bytes at `at` (none if count <= 0, a block if count >= 4). */
function readTail(key: Uint8Array, at: number, count: number): number {
  if (count >= 4) return readBlock(key, at);
  let word = 0;
  if (count >= 3) word |= key[at + 2] << 16;
  if (count >= 2) word |= key[at + 1] << 8;
  if (count >= 1) word |= key[at];
  return word;
}

// 64-bit arithmetic on (hi, lo) pairs of unsigned 32-bit words. Results land in this one object
// rather than a returned tuple, so that hashing tens of thousands of token names allocates
// nothing per operation (an object rather than two module-level lets: measured ~1.6x faster).
const out = { hi: 0, lo: 0 };

/** High 32 bits of the 64-bit product of two unsigned 32-bit words, via 16-bit limbs. */
function mulHigh32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const carry = ((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16;
  return (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + carry) >>> 0;
}

function mul64(aHi: number, aLo: number, bHi: number, bLo: number): void {
  const high = mulHigh32(aLo, bLo) + Math.imul(aHi, bLo) + Math.imul(aLo, bHi);
  out.lo = Math.imul(aLo, bLo) >>> 0;
  out.hi = high >>> 0;
}

function add64(aHi: number, aLo: number, bHi: number, bLo: number): void {
  const lo = (aLo >>> 0) + (bLo >>> 0);
  out.lo = lo >>> 0;
  out.hi = (aHi + bHi + (lo > 0xffffffff ? 1 : 0)) >>> 0;
}

/** Rotate left by `r` in 1..31. */
function rotl64(hi: number, lo: number, r: number): void {
  out.hi = ((hi << r) | (lo >>> (32 - r))) >>> 0;
  out.lo = ((lo << r) | (hi >>> (32 - r))) >>> 0;
}

const C1_HI = 0x87c37b91;
const C1_LO = 0x114253d5;
const C2_HI = 0x4cf5ad43;
const C2_LO = 0x2745937f;

/** k1 *= c1; k1 = rotl64(k1, 31); k1 *= c2 */
function mixK1(hi: number, lo: number): void {
  mul64(hi, lo, C1_HI, C1_LO);
  rotl64(out.hi, out.lo, 31);
  mul64(out.hi, out.lo, C2_HI, C2_LO);
}

/** k2 *= c2; k2 = rotl64(k2, 33); k2 *= c1 — a rotation by 33 is a word swap and a rotation by 1. */
function mixK2(hi: number, lo: number): void {
  mul64(hi, lo, C2_HI, C2_LO);
  rotl64(out.lo, out.hi, 1);
  mul64(out.hi, out.lo, C1_HI, C1_LO);
}

/** fmix64: k ^= k >> 33; k *= 0xff51afd7ed558ccd; k ^= k >> 33; k *= 0xc4ceb9fe1a85ec53; k ^= k >> 33 */
function fmix64(hi: number, lo: number): void {
  mul64(hi, (lo ^ (hi >>> 1)) >>> 0, 0xff51afd7, 0xed558ccd);
  mul64(out.hi, (out.lo ^ (out.hi >>> 1)) >>> 0, 0xc4ceb9fe, 0x1a85ec53);
  out.lo = (out.lo ^ (out.hi >>> 1)) >>> 0;
}

// The four words of the last MurmurHash3_x64_128 digest: h1 then h2, each (hi, lo).
const digest = new Uint32Array(4);

/** MurmurHash3_x64_128 into `digest` as [h1Hi, h1Lo, h2Hi, h2Lo]. */
function hashX64_128(key: Uint8Array, seed: number): void {
  const length = key.length;
  const blocksEnd = length & ~15;
  let h1Hi = 0;
  let h1Lo = seed >>> 0;
  let h2Hi = 0;
  let h2Lo = seed >>> 0;
  let i = 0;
  for (; i < blocksEnd; i += 16) {
    mixK1(readBlock(key, i + 4), readBlock(key, i));
    h1Hi ^= out.hi;
    h1Lo ^= out.lo;
    rotl64(h1Hi >>> 0, h1Lo >>> 0, 27);
    add64(out.hi, out.lo, h2Hi, h2Lo);
    mul64(out.hi, out.lo, 0, 5);
    add64(out.hi, out.lo, 0, 0x52dce729);
    h1Hi = out.hi;
    h1Lo = out.lo;

    mixK2(readBlock(key, i + 12), readBlock(key, i + 8));
    h2Hi ^= out.hi;
    h2Lo ^= out.lo;
    rotl64(h2Hi >>> 0, h2Lo >>> 0, 31);
    add64(out.hi, out.lo, h1Hi, h1Lo);
    mul64(out.hi, out.lo, 0, 5);
    add64(out.hi, out.lo, 0, 0x38495ab5);
    h2Hi = out.hi;
    h2Lo = out.lo;
  }
  const tail = length - i;
  if (tail > 8) {
    mixK2(readTail(key, i + 12, tail - 12), readTail(key, i + 8, tail - 8));
    h2Hi ^= out.hi;
    h2Lo ^= out.lo;
  }
  if (tail > 0) {
    mixK1(readTail(key, i + 4, tail - 4), readTail(key, i, tail));
    h1Hi ^= out.hi;
    h1Lo ^= out.lo;
  }
  // The reference mixes in the length as a 64-bit value; lengths fit the low word.
  h1Lo ^= length;
  h2Lo ^= length;
  add64(h1Hi, h1Lo, h2Hi, h2Lo);
  h1Hi = out.hi;
  h1Lo = out.lo;
  add64(h2Hi, h2Lo, h1Hi, h1Lo);
  h2Hi = out.hi;
  h2Lo = out.lo;
  fmix64(h1Hi >>> 0, h1Lo >>> 0);
  h1Hi = out.hi;
  h1Lo = out.lo;
  fmix64(h2Hi >>> 0, h2Lo >>> 0);
  h2Hi = out.hi;
  h2Lo = out.lo;
  add64(h1Hi, h1Lo, h2Hi, h2Lo);
  h1Hi = out.hi;
  h1Lo = out.lo;
  add64(h2Hi, h2Lo, h1Hi, h1Lo);
  digest[0] = h1Hi;
  digest[1] = h1Lo;
  digest[2] = out.hi;
  digest[3] = out.lo;
}

/** MurmurHash3_x64_128 of `key`: the 16 bytes the reference writes (h1 then h2, little-endian). */
export function murmurHash3X64_128(key: Uint8Array, seed: number): Uint8Array {
  hashX64_128(key, seed);
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setUint32(0, digest[1], true);
  view.setUint32(4, digest[0], true);
  view.setUint32(8, digest[3], true);
  view.setUint32(12, digest[2], true);
  return out;
}

/** Position of `key` on the 64-bit ring: the first 64 bits (h1) of MurmurHash3_x64_128. */
export function ringPosition(key: Uint8Array): bigint {
  hashX64_128(key, RING_HASH_SEED);
  return (BigInt(digest[0]) << 32n) | BigInt(digest[1]);
}

/**
 * `ringPosition(key)` as two unsigned 32-bit words, written to `into[at]` (high) and
 * `into[at + 1]` (low): a placement sorts up to 65,536 positions, and comparing plain numbers
 * is several times cheaper than creating and comparing as many BigInts.
 */
export function ringPositionWords(key: Uint8Array, into: Uint32Array, at: number): void {
  hashX64_128(key, RING_HASH_SEED);
  into[at] = digest[0];
  into[at + 1] = digest[1];
}
