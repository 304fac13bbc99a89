import { describe, expect, it } from "vitest";
import { RecentRequestIds } from "../../src/node/storage/state-machine-recent-ids.js";

const id = (n: number) => {
  const bytes = new Uint8Array(16);
  new DataView(bytes.buffer).setUint32(12, n);
  return bytes;
};

describe("RecentRequestIds", () => {
  it("asks for a read only of the ids it has seen, once it knows every live record", () => {
    const recent = new RecentRequestIds(10, 0);
    recent.record(1, id(1));
    recent.record(2, id(2));
    expect(recent.toRead(3, [id(1), id(3)])).toEqual([id(1)]);
  });

  it("asks for every id while records from before tracking began may still be live", () => {
    const recent = new RecentRequestIds(10, 50); // opened at applied index 50
    recent.record(51, id(1));
    expect(recent.toRead(52, [id(1), id(2)])).toEqual([id(1), id(2)]);
    expect(recent.toRead(59, [id(2)])).toEqual([id(2)]); // 59 - 10 < 50: a record at 50 is live
    expect(recent.toRead(60, [id(1), id(2)])).toEqual([id(1)]); // 60 - 10 >= 50: none is
  });

  it("keeps two generations of the window, as the records on disk", () => {
    const recent = new RecentRequestIds(10, 0);
    recent.record(5, id(1)); // generation 0
    recent.record(15, id(2)); // generation 1
    expect(recent.toRead(16, [id(1), id(2)])).toEqual([id(1), id(2)]);
    recent.record(25, id(3)); // generation 2: generation 0 is expired for every later entry
    expect(recent.toRead(26, [id(1), id(2), id(3)])).toEqual([id(2), id(3)]);
  });
});
