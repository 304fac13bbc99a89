/**
 * Connect clients to the other nodes, for forwarding client requests to a partition's leader:
 * one HTTP/2 session per peer (Connect protocol, binary), made on first use and kept. The Admin
 * client shares the session but not the transport: only its calls carry the cluster token.
 */

import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Admin } from "../../gen/tinyo/v1/admin_pb.js";
import { KV } from "../../gen/tinyo/v1/kv_pb.js";
import type { NodeId } from "../ids.js";
import { sendClusterToken } from "./admin-auth.js";

interface Peer {
  readonly sessions: Http2SessionManager;
  readonly kv: Client<typeof KV>;
  readonly admin: Client<typeof Admin>;
}

export class PeerClients {
  private readonly peers = new Map<NodeId, Peer>();

  constructor(
    private readonly addresses: ReadonlyMap<NodeId, string>,
    private readonly clusterToken: string,
  ) {}

  kv(node: NodeId): Client<typeof KV> {
    return this.peer(node).kv;
  }

  admin(node: NodeId): Client<typeof Admin> {
    return this.peer(node).admin;
  }

  /** Closes every session; calls in flight fail. */
  close(): void {
    for (const peer of this.peers.values()) peer.sessions.abort();
    this.peers.clear();
  }

  private peer(node: NodeId): Peer {
    let peer = this.peers.get(node);
    if (peer) return peer;
    const address = this.addresses.get(node);
    if (address === undefined) throw new RangeError(`node ${node} is not a member of the cluster`);
    const baseUrl = `http://${address}`;
    const sessions = new Http2SessionManager(baseUrl, { idleConnectionTimeoutMs: 60_000 });
    const options = { baseUrl, httpVersion: "2", sessionManager: sessions } as const;
    const transport = createConnectTransport(options);
    const adminTransport = createConnectTransport({
      ...options,
      interceptors: [sendClusterToken(this.clusterToken)],
    });
    peer = { sessions, kv: createClient(KV, transport), admin: createClient(Admin, adminTransport) };
    this.peers.set(node, peer);
    return peer;
  }
}
