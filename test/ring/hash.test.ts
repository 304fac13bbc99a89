import { describe, expect, it } from "vitest";
import {
  murmurHash3X64_128,
  murmurHash3X86_32,
  PARTITION_HASH_SEED,
  partitionOf,
  ringPosition,
  ringPositionWords,
} from "../../src/node/ring/hash.js";

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/**
 * SMHasher's VerificationTest (aappleby/smhasher, KeysetTest.cpp): hash the keys {}, {0}, {0,1},
 * ..., {0..254} with seed 256 - length, hash the concatenated digests with seed 0, and read the
 * first 4 bytes of that as a little-endian word. It exercises every tail length and many seeds.
 */
function verificationValue(hash: (key: Uint8Array, seed: number) => Uint8Array, digestBytes: number): number {
  const key = new Uint8Array(256);
  const digests = new Uint8Array(256 * digestBytes);
  for (let i = 0; i < 256; i++) {
    key[i] = i;
    digests.set(hash(key.subarray(0, i), 256 - i), i * digestBytes);
  }
  return Buffer.from(hash(digests, 0)).readUInt32LE(0);
}

const x86Digest = (key: Uint8Array, seed: number): Uint8Array => {
  const digest = Buffer.alloc(4);
  digest.writeUInt32LE(murmurHash3X86_32(key, seed));
  return digest;
};

describe("MurmurHash3 reference values", () => {
  // The verification values SMHasher's main.cpp lists for its reference implementation.
  it("x86_32 matches SMHasher's verification value 0xB0F57EE3", () => {
    expect(verificationValue(x86Digest, 4)).toBe(0xb0f57ee3);
  });

  it("x64_128 matches SMHasher's verification value 0x6384BA69", () => {
    expect(verificationValue(murmurHash3X64_128, 16)).toBe(0x6384ba69);
  });

  // Widely published outputs (e.g. the MurmurHash3 test-vector tables that ports quote), each
  // re-checked here against the canonical MurmurHash3.cpp compiled with g++.
  it.each([
    ["", 0, 0x00000000],
    ["", 1, 0x514e28b7],
    ["", 0xffffffff, 0x81f16f39],
    ["hello", 0, 0x248bfa47],
    ["The quick brown fox jumps over the lazy dog", 0, 0x2e4ff723],
  ])("x86_32(%j, seed %d) is published as %d", (text, seed, expected) => {
    expect(murmurHash3X86_32(utf8(text), seed)).toBe(expected);
  });

  // Computed with the canonical MurmurHash3.cpp (aappleby/smhasher) compiled with g++: lengths 0
  // to 5, 12, 15, 16 and 17 reach each tail branch and the 16-byte block loop; the last rows are
  // the names the placement hashes and a non-ASCII key.
  it.each([
    ["", 0x9747b28c, 0xebb6c228, "392b208a1daabbb3", "93b0608fe302957a"],
    ["a", 0, 0x3c2569b2, "85555565f6597889", "e6b53a48510e895a"],
    ["ab", 0, 0x9bbfd75f, "938b11ea16ed1b2e", "e65ea7019b52d4ad"],
    ["abc", 0, 0xb3dd93fa, "b4963f3f3fad7867", "3ba2744126ca2d52"],
    ["abcd", 0, 0x43ed676a, "b87bb7d64656cd4f", "f2003e886073e875"],
    ["abcd", 0x9747b28c, 0xf0478627, "49b4709eac553791", "8a7e67e7e9d3a7bb"],
    ["hello", 0, 0x248bfa47, "cbd8a7b341bd9b02", "5b1e906a48ae1d19"],
    ["hello", 0xffffffff, 0x237b85cb, "347bad75d7575e14", "d940b3d7b5fb075c"],
    ["hello, world", 0, 0x149bbb7f, "342fac623a5ebc8e", "4cdcbc079642414d"],
    ["aaaaaaaaaaaaaaa", 0, 0xb66bb067, "7d07a8dbfd2e7fbc", "8fa8044aa85ff959"],
    ["aaaaaaaaaaaaaaaa", 0, 0xf99427eb, "f2c1180d62aaa6ce", "6af6f3032bb23942"],
    ["aaaaaaaaaaaaaaaaa", 0, 0x7f03cc0d, "6f7214c7cef2d698", "a4fdbc534edea5bb"],
    ["aaaaaaaaaaaaaaaaa", 1, 0x3457417c, "ca3a99f78ae55f00", "1a5d85ec1528168c"],
    ["The quick brown fox jumps over the lazy dog", 0, 0x2e4ff723, "e34bbc7bbc071b6c", "7a433ca9c49a9347"],
    [
      "The quick brown fox jumps over the lazy dog",
      0x9747b28c,
      0x2fa826cd,
      "738a7f3bd2633121",
      "f94573727ec016e5",
    ],
    ["node:1:0", 0, 0xe768a98d, "1072f8fc117c6ed0", "07d1ac9378c99b1a"],
    ["node:12:63", 0, 0xc955c98c, "7132163e091a888a", "a6d7a35572f2ea8e"],
    ["partition:0", 0, 0x648ee745, "fa338d097caa1b06", "ee7efeeec8d340df"],
    ["partition:31", 0, 0x941848d8, "8d0026098416cfe8", "e22f0efda4c3b9e0"],
    ["été", 0, 0x3393660f, "53bf5f6c9b9d9a14", "3633690985418128"],
  ])("%j with seed %d: x86_32 %d, x64_128 h1 %s h2 %s", (text, seed, x86, h1, h2) => {
    expect(murmurHash3X86_32(utf8(text), seed)).toBe(x86);
    // The reference writes h1 then h2, each as a little-endian uint64.
    const digest = Buffer.from(murmurHash3X64_128(utf8(text), seed));
    expect(digest.readBigUInt64LE(0).toString(16).padStart(16, "0")).toBe(h1);
    expect(digest.readBigUInt64LE(8).toString(16).padStart(16, "0")).toBe(h2);
  });
});

describe("ringPosition", () => {
  it("is h1 of MurmurHash3_x64_128 with seed 0, as an unsigned 64-bit bigint", () => {
    expect(ringPosition(utf8("node:1:0"))).toBe(0x1072f8fc117c6ed0n);
    expect(ringPosition(utf8("partition:0"))).toBe(0xfa338d097caa1b06n);
    expect(ringPosition(utf8(""))).toBe(0n);
  });

  it("gives the same value as its two-word form, for positions above 2^63 too", () => {
    const words = new Uint32Array(4);
    for (const text of ["partition:0", "partition:31", "node:12:63", "hello"]) {
      ringPositionWords(utf8(text), words, 2);
      const joined = (BigInt(words[2]) << 32n) | BigInt(words[3]);
      expect(joined).toBe(ringPosition(utf8(text)));
      expect(joined).toBeLessThan(1n << 64n);
    }
    expect(words[0]).toBe(0);
    expect(words[1]).toBe(0);
  });

  it("does not depend on the key's offset in its buffer", () => {
    const buffer = utf8("xxnode:1:0yy");
    expect(ringPosition(buffer.subarray(2, 10))).toBe(0x1072f8fc117c6ed0n);
  });
});

describe("partitionOf", () => {
  it("is MurmurHash3_x86_32 with the documented seed, mod Q", () => {
    expect(PARTITION_HASH_SEED).toBe(0);
    // 0x248bfa47 = 613153351: mod 32 = 7, mod 1000 = 351, mod 7 = 613153351 - 7 * 87593335 = 6.
    expect(partitionOf(utf8("hello"), 32)).toBe(7);
    expect(partitionOf(utf8("hello"), 1000)).toBe(351);
    expect(partitionOf(utf8("hello"), 7)).toBe(6);
    expect(partitionOf(utf8("hello"), 1)).toBe(0);
  });

  it("is stable across calls and within [0, Q) for many keys and partition counts", () => {
    const wrong: string[] = [];
    for (const partitions of [1, 2, 3, 7, 32, 100, 256, 4096, 0xffffffff, 0x1_0000_0000]) {
      for (let i = 0; i < 2000; i++) {
        const key = utf8(`user:${i}`);
        const partition = partitionOf(key, partitions);
        const valid = Number.isInteger(partition) && partition >= 0 && partition < partitions;
        const stable = partitionOf(key, partitions) === partition;
        if (!valid || !stable || partition !== murmurHash3X86_32(key, 0) % partitions) {
          wrong.push(`user:${i} in ${partitions} partitions -> ${partition}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it("spreads sequential keys evenly over 32 partitions", () => {
    const counts = new Array<number>(32).fill(0);
    for (let i = 0; i < 32_000; i++) counts[partitionOf(utf8(`user:${i}`), 32)]++;
    // 1000 expected per partition, standard deviation ~31: +-15% is about 5 deviations.
    expect(Math.min(...counts)).toBeGreaterThan(850);
    expect(Math.max(...counts)).toBeLessThan(1150);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 0x1_0000_0001])(
    "rejects %d partitions with a RangeError",
    (partitions) => {
      expect(() => partitionOf(utf8("k"), partitions)).toThrow(RangeError);
    },
  );
});
