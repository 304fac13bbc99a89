/**
 * Request envelopes (1 flag byte, 4 length bytes big endian, the message) cut from an HTTP/2
 * request's data chunks, for the streams served on node:http2 (fast-client-stream.ts,
 * fast-unordered-stream.ts). A message is handed out as a view of the received bytes; one that
 * spans several chunks is gathered without copying until it is complete (one concat then).
 */

import { Code, ConnectError } from "@connectrpc/connect";
import { MAX_FAST_REQUEST_BYTES } from "./fast-unary.js";

export const ENVELOPE_BYTES = 5;
const EMPTY = Buffer.alloc(0);

export interface Envelope {
  readonly flags: number;
  readonly message: Uint8Array;
}

export class EnvelopeReader {
  private buf: Buffer = EMPTY;
  private parts: Buffer[] = [];
  private partsLength = 0;
  /** The bytes of the envelope being gathered in `parts` (0: none). */
  private needed = 0;

  /** Takes a chunk; false while it only adds to a message that is still incomplete. */
  push(chunk: Buffer): boolean {
    if (this.needed > 0) {
      this.parts.push(chunk);
      this.partsLength += chunk.length;
      if (this.partsLength < this.needed) return false;
      this.buf = Buffer.concat(this.parts, this.partsLength);
      this.parts = [];
      this.partsLength = 0;
      this.needed = 0;
    } else this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    return true;
  }

  /**
   * The next complete envelope, or undefined until one is. Throws ResourceExhausted for a
   * message larger than MAX_FAST_REQUEST_BYTES (before it arrives whole).
   */
  next(): Envelope | undefined {
    const buf = this.buf;
    if (buf.length < ENVELOPE_BYTES) return undefined;
    const length = buf.readUInt32BE(1);
    if (length > MAX_FAST_REQUEST_BYTES) {
      throw new ConnectError(
        `a message is larger than ${MAX_FAST_REQUEST_BYTES} bytes`,
        Code.ResourceExhausted,
      );
    }
    const end = ENVELOPE_BYTES + length;
    if (buf.length < end) {
      // Wait for the rest of this message.
      this.needed = end;
      this.parts = [buf];
      this.partsLength = buf.length;
      this.buf = EMPTY;
      return undefined;
    }
    this.buf = buf.subarray(end);
    return { flags: buf[0] as number, message: buf.subarray(ENVELOPE_BYTES, end) };
  }

  /** True if bytes of an envelope not yet handed out are held (at the end: it was cut short). */
  get holdsPartial(): boolean {
    return this.buf.length > 0 || this.needed > 0;
  }
}
