/**
 * The write commands a Raft entry carries: what the state machine applies.
 *
 * Encoding (compact, no JSON; every number big-endian):
 *
 *   put:    [0x01] [requestId: 16] [keyLength: u16] [key] [value: the rest of the entry]
 *   delete: [0x02] [requestId: 16] [keyLength: u16] [key]
 *
 * `requestId` is all zero when the write has none; a client that may retry a write gives it a
 * random id so that the retry is applied once (see state-machine-dedup.ts). The first byte is
 * the command type: a type this code does not know (written by a newer tinyo) is refused by
 * `decodeCommand`, never guessed at.
 */

/** A key is 1 to 4096 bytes. */
export const MAX_KEY_BYTES = 4096;
/** A value is at most 1 MiB; it may be empty. */
export const MAX_VALUE_BYTES = 1024 * 1024;
/** A request id is 16 bytes; all zero means "none". */
export const REQUEST_ID_BYTES = 16;

const PUT = 0x01;
const DELETE = 0x02;
const HEADER_BYTES = 1 + REQUEST_ID_BYTES + 2;

/** The largest encoded command: a put with the largest key and value. */
export const MAX_COMMAND_BYTES = HEADER_BYTES + MAX_KEY_BYTES + MAX_VALUE_BYTES;

export type Command =
  | {
      readonly type: "put";
      readonly key: Uint8Array;
      readonly value: Uint8Array;
      /** 16 bytes; absent (or all zero) when the write needs no exactly-once protection. */
      readonly requestId?: Uint8Array;
    }
  | { readonly type: "delete"; readonly key: Uint8Array; readonly requestId?: Uint8Array };

/** A command that breaks the limits: the message says what to change. */
export class InvalidCommandError extends Error {
  override name = "InvalidCommandError";
}

/** Bytes that are not an encoded command (damaged, or written by a newer tinyo). */
export class MalformedCommandError extends Error {
  override name = "MalformedCommandError";
}

const describeBytes = (n: number): string =>
  n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(2)} MiB (${n} bytes)` : `${n} bytes`;

/** Throws InvalidCommandError unless `key` is 1 to MAX_KEY_BYTES bytes. */
export function validateKey(key: Uint8Array): void {
  if (key.length === 0) {
    throw new InvalidCommandError(`the key is empty: a key must be 1 to ${MAX_KEY_BYTES} bytes`);
  }
  if (key.length > MAX_KEY_BYTES) {
    throw new InvalidCommandError(
      `the key is ${describeBytes(key.length)}: a key may be at most ${MAX_KEY_BYTES} bytes; ` +
        "use a shorter key (e.g. a hash of the long one)",
    );
  }
}

/** Throws InvalidCommandError unless the command is within the limits. */
export function validateCommand(command: Command): void {
  validateKey(command.key);
  if (command.type === "put" && command.value.length > MAX_VALUE_BYTES) {
    throw new InvalidCommandError(
      `the value is ${describeBytes(command.value.length)}: a value may be at most 1 MiB ` +
        `(${MAX_VALUE_BYTES} bytes); split it over several keys`,
    );
  }
  if (command.requestId !== undefined && command.requestId.length !== REQUEST_ID_BYTES) {
    throw new InvalidCommandError(
      `the request id is ${command.requestId.length} bytes: it must be exactly ${REQUEST_ID_BYTES} bytes ` +
        "(or absent)",
    );
  }
}

/** True if `requestId` is present and not all zero. */
export function hasRequestId(requestId: Uint8Array | undefined): requestId is Uint8Array {
  if (requestId === undefined) return false;
  for (const byte of requestId) if (byte !== 0) return true;
  return false;
}

/** True if `data` is (or claims to be) an encoded delete: its type byte, without decoding it. */
export function isDeleteCommand(data: Uint8Array): boolean {
  return data[0] === DELETE;
}

/** Validates (InvalidCommandError) and encodes a command. */
export function encodeCommand(command: Command): Uint8Array {
  validateCommand(command);
  const { key } = command;
  const valueBytes = command.type === "put" ? command.value.length : 0;
  const out = new Uint8Array(HEADER_BYTES + key.length + valueBytes);
  out[0] = command.type === "put" ? PUT : DELETE;
  if (command.requestId !== undefined) out.set(command.requestId, 1);
  out[1 + REQUEST_ID_BYTES] = key.length >>> 8;
  out[2 + REQUEST_ID_BYTES] = key.length & 0xff;
  out.set(key, HEADER_BYTES);
  if (command.type === "put") out.set(command.value, HEADER_BYTES + key.length);
  return out;
}

/**
 * Decodes a command. The key, value and request id are views into `data` (no copy): do not
 * change `data` while they are in use. A zero request id decodes as absent. Throws
 * MalformedCommandError for bytes that are not a command, InvalidCommandError for a command
 * outside the limits.
 */
export function decodeCommand(data: Uint8Array): Command {
  if (data.length < HEADER_BYTES) {
    throw new MalformedCommandError(
      `a command is at least ${HEADER_BYTES} bytes, got ${data.length}: the entry is damaged`,
    );
  }
  const type = data[0];
  if (type !== PUT && type !== DELETE) {
    throw new MalformedCommandError(
      `unknown command type ${type}: the entry was written by a newer tinyo, or is damaged`,
    );
  }
  const rawId = data.subarray(1, 1 + REQUEST_ID_BYTES);
  const requestId = hasRequestId(rawId) ? rawId : undefined;
  const keyLength = ((data[1 + REQUEST_ID_BYTES] ?? 0) << 8) | (data[2 + REQUEST_ID_BYTES] ?? 0);
  const keyEnd = HEADER_BYTES + keyLength;
  if (keyEnd > data.length) {
    throw new MalformedCommandError(
      `the command's key length (${keyLength}) runs past its end (${data.length} bytes): the entry is damaged`,
    );
  }
  const key = data.subarray(HEADER_BYTES, keyEnd);
  let command: Command;
  if (type === PUT) {
    command = { type: "put", key, value: data.subarray(keyEnd), requestId };
  } else {
    if (keyEnd !== data.length) {
      throw new MalformedCommandError(
        `a delete command has ${data.length - keyEnd} bytes after its key: the entry is damaged`,
      );
    }
    command = { type: "delete", key, requestId };
  }
  validateCommand(command);
  return command;
}
