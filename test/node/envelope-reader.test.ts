import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { EnvelopeReader } from "../../src/node/service/envelope-reader.js";
import { MAX_FAST_REQUEST_BYTES } from "../../src/node/service/fast-unary.js";

const envelope = (flags: number, message: Uint8Array) => {
  const out = Buffer.alloc(5 + message.length);
  out[0] = flags;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
};

/** Everything the reader hands out for these chunks, in order. */
function read(reader: EnvelopeReader, chunks: Buffer[]) {
  const out: { flags: number; message: string }[] = [];
  for (const chunk of chunks) {
    if (!reader.push(chunk)) continue;
    for (let e = reader.next(); e !== undefined; e = reader.next()) {
      out.push({ flags: e.flags, message: Buffer.from(e.message).toString() });
    }
  }
  return out;
}

describe("EnvelopeReader", () => {
  it("cuts envelopes out of chunks split anywhere, however many per chunk", () => {
    const messages = ["a", "", "hello world", "x".repeat(3000), "last"];
    const stream = Buffer.concat(messages.map((m, i) => envelope(i === 1 ? 1 : 0, Buffer.from(m))));
    for (const size of [1, 2, 5, 7, 64, 4096, stream.length]) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < stream.length; at += size) chunks.push(stream.subarray(at, at + size));
      const reader = new EnvelopeReader();
      expect(read(reader, chunks), `chunks of ${size}`).toEqual(
        messages.map((message, i) => ({ flags: i === 1 ? 1 : 0, message })),
      );
      expect(reader.holdsPartial).toBe(false);
    }
  });

  it("knows when the bytes stop in the middle of an envelope", () => {
    const reader = new EnvelopeReader();
    expect(
      read(reader, [envelope(0, Buffer.from("whole")), envelope(0, Buffer.from("cut")).subarray(0, 6)]),
    ).toEqual([{ flags: 0, message: "whole" }]);
    expect(reader.holdsPartial).toBe(true);
  });

  it("refuses a message over the limit from its header, before it arrives", () => {
    const reader = new EnvelopeReader();
    const header = Buffer.alloc(5);
    header.writeUInt32BE(MAX_FAST_REQUEST_BYTES + 1, 1);
    reader.push(header);
    let error: unknown;
    try {
      reader.next();
    } catch (e) {
      error = e;
    }
    expect(ConnectError.from(error).code).toBe(Code.ResourceExhausted);
  });
});
