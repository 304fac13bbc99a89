import { describe, expect, it } from "vitest";
import {
  type Command,
  decodeCommand,
  encodeCommand,
  hasRequestId,
  InvalidCommandError,
  MAX_COMMAND_BYTES,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  MalformedCommandError,
  REQUEST_ID_BYTES,
  validateCommand,
} from "../../src/node/storage/commands.js";

const bytes = (...b: number[]) => Uint8Array.from(b);
const text = (s: string) => new TextEncoder().encode(s);
const id = (n: number) => new Uint8Array(REQUEST_ID_BYTES).fill(n);

describe("commands", () => {
  it("exports the limits", () => {
    expect(MAX_KEY_BYTES).toBe(4096);
    expect(MAX_VALUE_BYTES).toBe(1048576);
    expect(REQUEST_ID_BYTES).toBe(16);
  });

  it.each<[string, Command]>([
    ["put", { type: "put", key: text("user:1"), value: text("alice"), requestId: id(7) }],
    ["put with an empty value", { type: "put", key: text("k"), value: new Uint8Array(0), requestId: id(1) }],
    ["put with binary key and value", { type: "put", key: bytes(0, 255, 0, 1), value: bytes(0, 0, 255) }],
    ["delete", { type: "delete", key: text("user:1"), requestId: id(9) }],
    ["delete with a binary key, no request id", { type: "delete", key: bytes(255, 255) }],
    [
      "largest key and value",
      { type: "put", key: new Uint8Array(4096).fill(1), value: new Uint8Array(MAX_VALUE_BYTES) },
    ],
  ])("round trips a %s", (_, command) => {
    const encoded = encodeCommand(command);
    const decoded = decodeCommand(encoded);
    expect(decoded.type).toBe(command.type);
    const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;
    expect(same(decoded.key, command.key)).toBe(true);
    if (command.type === "put" && decoded.type === "put")
      expect(same(decoded.value, command.value)).toBe(true);
    expect(decoded.requestId).toEqual(command.requestId);
    expect(encoded.length).toBeLessThanOrEqual(MAX_COMMAND_BYTES);
  });

  it("is compact: 19 bytes of header", () => {
    expect(encodeCommand({ type: "put", key: text("k"), value: text("v") }).length).toBe(21);
    expect(encodeCommand({ type: "delete", key: text("k") }).length).toBe(20);
  });

  it("decodes an all-zero request id as none", () => {
    const decoded = decodeCommand(encodeCommand({ type: "delete", key: text("k"), requestId: id(0) }));
    expect(decoded.requestId).toBeUndefined();
    expect(hasRequestId(id(0))).toBe(false);
    expect(hasRequestId(bytes(...new Array(15).fill(0), 1))).toBe(true);
  });

  it.each<[string, Command, RegExp]>([
    [
      "an empty key",
      { type: "delete", key: new Uint8Array(0) },
      /key is empty: a key must be 1 to 4096 bytes/,
    ],
    [
      "a key of 4097 bytes",
      { type: "delete", key: new Uint8Array(4097) },
      /key is 4097 bytes: a key may be at most 4096/,
    ],
    [
      "a value over 1 MiB",
      { type: "put", key: text("k"), value: new Uint8Array(MAX_VALUE_BYTES + 1) },
      /value is 1\.00 MiB \(1048577 bytes\): a value may be at most 1 MiB \(1048576 bytes\)/,
    ],
    [
      "a short request id",
      { type: "delete", key: text("k"), requestId: id(1).subarray(0, 8) },
      /request id is 8 bytes/,
    ],
  ])("refuses %s with a clear message", (_, command, message) => {
    expect(() => validateCommand(command)).toThrow(InvalidCommandError);
    expect(() => encodeCommand(command)).toThrow(message);
  });

  it.each<[string, Uint8Array, RegExp]>([
    ["empty bytes", new Uint8Array(0), /at least 19 bytes, got 0/],
    ["an unknown type", bytes(9, ...new Array(18).fill(0)), /unknown command type 9/],
    ["a key length past the end", bytes(1, ...new Array(16).fill(0), 0, 5, 65), /key length \(5\) runs past/],
    [
      "a delete with trailing bytes",
      bytes(2, ...new Array(16).fill(0), 0, 1, 65, 66),
      /1 bytes after its key/,
    ],
  ])("refuses to decode %s", (_, data, message) => {
    expect(() => decodeCommand(data)).toThrow(MalformedCommandError);
    expect(() => decodeCommand(data)).toThrow(message);
  });

  it("refuses to decode a command over the limits", () => {
    const encoded = encodeCommand({ type: "put", key: text("k"), value: new Uint8Array(MAX_VALUE_BYTES) });
    const tooBig = new Uint8Array(encoded.length + 1);
    tooBig.set(encoded);
    expect(() => decodeCommand(tooBig)).toThrow(InvalidCommandError);
  });
});
