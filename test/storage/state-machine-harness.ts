/** Shared fixtures of the state machine tests: temp directories, commands, helpers. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect } from "vitest";
import { type PartitionId, partitionId } from "../../src/node/ids.js";
import { type Command, encodeCommand, REQUEST_ID_BYTES } from "../../src/node/storage/commands.js";
import {
  type ApplyEntry,
  type PartitionSnapshot,
  StateMachine,
  type StateMachineOptions,
} from "../../src/node/storage/state-machine.js";

const dirs: string[] = [];
const opened: StateMachine[] = [];

/** Closes the state machines and deletes the directories made by each test. */
export function cleanUpAfterEach(): void {
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((sm) => sm.close().catch(() => undefined)));
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
}

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "tinyo-sm-test-"));
  dirs.push(dir);
  return dir;
}

export async function openSm(dir: string, options?: StateMachineOptions): Promise<StateMachine> {
  const sm = await StateMachine.open(dir, options);
  opened.push(sm);
  return sm;
}

export async function reopen(sm: StateMachine, options?: StateMachineOptions): Promise<StateMachine> {
  await sm.close();
  return openSm(sm.dir, options);
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : new TextDecoder().decode(b);

/** Request id number `n`. */
export function rid(n: number): Uint8Array {
  const id = new Uint8Array(REQUEST_ID_BYTES);
  new DataView(id.buffer).setUint32(12, n);
  return id;
}

export const put = (key: string, value: string, requestId?: Uint8Array): Command => ({
  type: "put",
  key: text(key),
  value: text(value),
  requestId,
});
export const del = (key: string, requestId?: Uint8Array): Command => ({
  type: "delete",
  key: text(key),
  requestId,
});

/** Applies commands (undefined = a no-op entry) right after the partition's applied index. */
export async function applyAll(sm: StateMachine, partition: PartitionId, commands: (Command | undefined)[]) {
  const first = sm.appliedIndex(partition) + 1;
  const entries: ApplyEntry[] = commands.map((c, i) => ({
    index: first + i,
    data: c === undefined ? new Uint8Array(0) : encodeCommand(c),
  }));
  return sm.apply(partition, entries);
}

/** The whole partition as key -> value. */
export async function scanAll(sm: StateMachine, partition: PartitionId): Promise<Record<string, string>> {
  const { entries, more } = await sm.scan(partition, {}, 1_000_000);
  expect(more).toBe(false);
  return Object.fromEntries(entries.map((e) => [str(e.key), str(e.value)]));
}

export async function collect(snapshot: PartitionSnapshot): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of snapshot.chunks()) chunks.push(chunk);
  return chunks;
}

export const P1 = partitionId(1);
export const P2 = partitionId(2);
export const P256 = partitionId(256);
export const PMAX = partitionId(0xffffffff);
