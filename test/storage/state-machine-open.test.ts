import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import RocksDB from "rocksdb-native";
import { describe, expect, it } from "vitest";
import { StateMachine } from "../../src/node/storage/state-machine.js";
import { NotAStateMachineError, StateMachineOpenError } from "../../src/node/storage/state-machine-errors.js";
import { applyAll, cleanUpAfterEach, openSm, P1, put, tempDir, text } from "./state-machine-harness.js";

cleanUpAfterEach();

describe("StateMachine: opening", () => {
  it("refuses a plain file", async () => {
    const file = join(await tempDir(), "data");
    await writeFile(file, "hello");
    await expect(StateMachine.open(file)).rejects.toThrow(NotAStateMachineError);
    await expect(StateMachine.open(file)).rejects.toThrow(`${file} is a file, not a directory`);
  });

  it("refuses a directory of unrelated files, and leaves it untouched", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "notes.txt"), "mine");
    await mkdir(join(dir, "photos"));
    await expect(StateMachine.open(dir)).rejects.toThrow(
      `${dir} is not a tinyo state machine: it holds files (notes.txt, photos) but no RocksDB database`,
    );
    expect((await readdir(dir)).sort()).toEqual(["notes.txt", "photos"]);
  });

  it("refuses a RocksDB database that is not tinyo's", async () => {
    const dir = await tempDir();
    const raw = new RocksDB(dir);
    await raw.ready();
    await raw.put(text("someone"), text("else"));
    await raw.close();
    await expect(StateMachine.open(dir)).rejects.toThrow(
      /holds a RocksDB database that is not a tinyo state machine/,
    );
  });

  it("refuses a database RocksDB cannot open, naming the directory", async () => {
    const sm = await openSm(await tempDir());
    await applyAll(sm, P1, [put("a", "1")]);
    await sm.close();
    await writeFile(join(sm.dir, "CURRENT"), "garbage\n");
    const failure = StateMachine.open(sm.dir);
    await expect(failure).rejects.toThrow(StateMachineOpenError);
    await expect(StateMachine.open(sm.dir)).rejects.toThrow(
      `cannot open the tinyo state machine in ${sm.dir}`,
    );
  });

  it("refuses a database another state machine has open", async () => {
    const sm = await openSm(await tempDir());
    await expect(StateMachine.open(sm.dir)).rejects.toThrow(/has it open/);
    await applyAll(sm, P1, [put("still", "works")]);
  });

  it("creates a missing directory, and opens an empty one", async () => {
    const parent = await tempDir();
    const nested = join(parent, "a", "b");
    const sm = await openSm(nested);
    await applyAll(sm, P1, [put("a", "1")]);
    const empty = join(parent, "empty");
    await mkdir(empty);
    await openSm(empty);
  });
});
