import { describe, expect, it } from "vitest";
import {
  ConfigError,
  DEVELOPMENT_TOKEN,
  parseAddress,
  parseNodeConfig,
  parsePeers,
  type RawNodeFlags,
} from "../../src/node/config.js";

const PEERS = "1=127.0.0.1:50051,2=127.0.0.1:50052,3=127.0.0.1:50053";
const base: RawNodeFlags = { id: "1", peers: PEERS, data: "/tmp/tinyo-node-1" };

function error(flags: RawNodeFlags, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseNodeConfig(flags, env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const message = (e as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("expected a ConfigError");
}

describe("parseNodeConfig", () => {
  it("fills in the defaults", () => {
    const config = parseNodeConfig(base);
    expect(config).toMatchObject({
      id: 1,
      listen: { host: "127.0.0.1", port: 50051, address: "127.0.0.1:50051" },
      dataDir: "/tmp/tinyo-node-1",
      partitions: 32,
      replication: 3,
      vnodes: 64,
      fsync: true,
      tickMs: 50,
      compactEvery: 10_000,
      token: DEVELOPMENT_TOKEN,
      defaultToken: true,
    });
    expect(config.peers.map((p) => [p.id, p.address])).toEqual([
      [1, "127.0.0.1:50051"],
      [2, "127.0.0.1:50052"],
      [3, "127.0.0.1:50053"],
    ]);
  });

  it("takes every flag", () => {
    const config = parseNodeConfig({
      ...base,
      id: "2",
      listen: "0.0.0.0:50052",
      partitions: "64",
      replication: "2",
      vnodes: "16",
      token: "secret",
      fsync: false,
      tickMs: "20",
      compactEvery: "500",
    });
    expect(config).toMatchObject({
      id: 2,
      listen: { host: "0.0.0.0", port: 50052 },
      partitions: 64,
      replication: 2,
      vnodes: 16,
      token: "secret",
      defaultToken: false,
      fsync: false,
      tickMs: 20,
      compactEvery: 500,
    });
  });

  it("takes the token from TINYO_TOKEN when --token is absent", () => {
    expect(parseNodeConfig(base, { TINYO_TOKEN: "from-env" }).token).toBe("from-env");
    expect(parseNodeConfig({ ...base, token: "flag" }, { TINYO_TOKEN: "from-env" }).token).toBe("flag");
  });

  it("defaults replication to the number of peers when there are fewer than 3", () => {
    expect(parseNodeConfig({ ...base, peers: "1=127.0.0.1:50051" }).replication).toBe(1);
  });

  it("sorts peers by id and accepts host names and IPv6", () => {
    const peers = parsePeers("3=node-c.local:7003, 1=[::1]:7001,2=localhost:7002");
    expect(peers.map((p) => [p.id, p.host, p.port, p.address])).toEqual([
      [1, "::1", 7001, "[::1]:7001"],
      [2, "localhost", 7002, "localhost:7002"],
      [3, "node-c.local", 7003, "node-c.local:7003"],
    ]);
  });

  it("refuses an id that is not in --peers", () => {
    expect(error({ ...base, id: "4" })).toBe(
      "--id 4 is not in --peers (which lists 1, 2, 3): add this node to --peers or fix --id",
    );
  });

  it("refuses duplicate ids and duplicate addresses", () => {
    expect(error({ ...base, peers: "1=127.0.0.1:1,1=127.0.0.1:2" })).toMatch(/lists node 1 twice/);
    expect(error({ ...base, peers: "1=127.0.0.1:1,2=127.0.0.1:1" })).toMatch(
      /nodes 1 and 2 the same address 127\.0\.0\.1:1/,
    );
  });

  it("refuses bad addresses", () => {
    expect(error({ ...base, peers: "1=127.0.0.1" })).toMatch(/not HOST:PORT/);
    expect(error({ ...base, peers: "1=127.0.0.1:0" })).toMatch(/port 0: a port is 1 to 65535/);
    expect(error({ ...base, peers: "1=127.0.0.1:70000" })).toMatch(/a port is 1 to 65535/);
    expect(error({ ...base, peers: "1=300.1.1.1:5" })).toMatch(/not an IPv4 address/);
    expect(error({ ...base, peers: "1:127.0.0.1:5" })).toMatch(/not ID=HOST:PORT/);
    expect(error({ ...base, peers: "x=127.0.0.1:5" })).toMatch(/node id "x" .* is not a whole number/);
    expect(error({ ...base, peers: " , " })).toMatch(/--peers is empty/);
    expect(() => parseAddress("--listen", "host:port")).toThrow(ConfigError);
  });

  it("refuses a --listen port that differs from this node's peer address", () => {
    expect(error({ ...base, listen: "127.0.0.1:6000" })).toMatch(/uses port 6000 .* 127\.0\.0\.1:50051/);
  });

  it("refuses replication above the number of peers", () => {
    expect(error({ ...base, replication: "4" })).toBe(
      "--replication 4 needs at least 4 nodes but --peers lists 3: lower --replication to at most 3 or add peers",
    );
    expect(error({ ...base, replication: "0" })).toMatch(/--replication 0 is out of range/);
  });

  it("refuses partitions outside 1..4096 and other bad numbers", () => {
    expect(error({ ...base, partitions: "0" })).toBe("--partitions 0 is out of range: use from 1 to 4096");
    expect(error({ ...base, partitions: "4097" })).toBe(
      "--partitions 4097 is out of range: use from 1 to 4096",
    );
    expect(error({ ...base, partitions: "12abc" })).toMatch(/--partitions "12abc" is not a whole number/);
    expect(error({ ...base, partitions: "-3" })).toMatch(/is not a whole number/);
    expect(error({ ...base, vnodes: "0" })).toMatch(/--vnodes 0 is out of range/);
    expect(error({ ...base, tickMs: "0" })).toMatch(/--tick-ms 0 is out of range/);
    expect(error({ ...base, compactEvery: "0" })).toMatch(/--compact-every 0 is out of range/);
    expect(error({ ...base, id: "0" })).toMatch(/--id 0 is out of range/);
  });

  it("requires --id, --peers and --data, and a non-empty token", () => {
    expect(error({ ...base, id: undefined })).toBe("--id is required");
    expect(error({ ...base, peers: undefined })).toBe("--peers (or --join) is required");
    expect(error({ ...base, data: " " })).toMatch(/--data is required/);
    expect(error({ ...base, token: "" })).toMatch(/--token is empty/);
  });
});

describe("--metrics-listen", () => {
  it("is off unless given, and parsed as HOST:PORT when given", () => {
    expect(parseNodeConfig(base).metricsListen).toBeUndefined();
    expect(parseNodeConfig({ ...base, metricsListen: "127.0.0.1:9101" }).metricsListen).toEqual({
      host: "127.0.0.1",
      port: 9101,
      address: "127.0.0.1:9101",
    });
  });

  it("refuses a bad address and the node's own HTTP/2 port", () => {
    expect(error({ ...base, metricsListen: "9101" })).toMatch(/--metrics-listen "9101" is not HOST:PORT/);
    expect(error({ ...base, metricsListen: "127.0.0.1:50051" })).toMatch(/a port of its own/);
  });
});
