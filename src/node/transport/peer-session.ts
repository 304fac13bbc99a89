/**
 * The HTTP/2 session of one peer link, given to connect-node's transport as its session manager.
 *
 * Why not connect-node's Http2SessionManager: in 2.1.2, when a peer shuts down gracefully
 * (GOAWAY with no open stream) and the next request reconnects before the old socket has
 * closed, the old session's deferred error is raised with no listener left: an uncaught
 * exception that kills the node (connect-es issue #1768, unfixed in 2.1.2). A peer restarting
 * is routine here, so this manager is ours, and simpler: one session, replaced when it closes,
 * fails or receives a GOAWAY; an error listener that stays for the session's whole life; no
 * keepalive pings (the link's call deadline, and abort() after a timeout, find dead peers).
 *
 * The session holds the event loop open only while a stream is open on it.
 */

import * as http2 from "node:http2";

export class PeerSession {
  /** The origin requests go to, "http://host:port" (connect-node checks it). */
  readonly authority: string;
  private current: http2.ClientHttp2Session | undefined;
  private connecting: Promise<http2.ClientHttp2Session> | undefined;
  private readonly streams = new WeakMap<http2.ClientHttp2Session, number>();
  private closed = false;

  constructor(baseUrl: string) {
    this.authority = new URL(baseUrl).origin;
  }

  async request(
    method: string,
    path: string,
    headers: http2.OutgoingHttpHeaders,
    options: Omit<http2.ClientSessionRequestOptions, "signal">,
  ): Promise<http2.ClientHttp2Stream> {
    for (let attempt = 0; ; attempt++) {
      const session = await this.ready();
      try {
        const stream = session.request({ ...headers, ":method": method, ":path": path }, options);
        this.track(session, stream);
        return stream;
      } catch (error) {
        // The session died between ready() and request() (GOAWAY, reset): once more on a new one.
        if (this.current === session) this.current = undefined;
        if (attempt > 0 || !(session.closed || session.destroyed)) throw error;
      }
    }
  }

  notifyResponseByteRead(_stream: http2.ClientHttp2Stream): void {}

  /** Destroys the session (and its streams); the next request opens a new one. */
  abort(): void {
    const session = this.current;
    this.current = undefined;
    this.connecting = undefined;
    session?.destroy(undefined, http2.constants.NGHTTP2_CANCEL);
  }

  /** Destroys the session and refuses new requests. */
  close(): void {
    this.closed = true;
    this.abort();
  }

  private ready(): Promise<http2.ClientHttp2Session> {
    if (this.closed) return Promise.reject(new Error("the peer session is closed"));
    if (this.connecting !== undefined) return this.connecting;
    const session = this.current;
    if (session !== undefined && !session.closed && !session.destroyed) return Promise.resolve(session);
    this.connecting = this.connect();
    return this.connecting;
  }

  private connect(): Promise<http2.ClientHttp2Session> {
    const session = http2.connect(this.authority);
    this.current = session;
    this.streams.set(session, 0);
    session.unref();
    // Errors also reach the session's streams, which fail their calls; this listener only keeps a
    // late one (after a GOAWAY, a destroy) from becoming an uncaught exception.
    session.on("error", () => this.forget(session));
    session.on("close", () => this.forget(session));
    session.on("goaway", () => {
      this.forget(session);
      session.close(); // let open streams finish; no new ones
    });
    const connecting = new Promise<http2.ClientHttp2Session>((resolve, reject) => {
      const onConnect = () => {
        session.off("error", onError);
        resolve(session);
      };
      const onError = (error: Error) => {
        session.off("connect", onConnect);
        reject(error);
      };
      session.once("connect", onConnect);
      session.once("error", onError);
      session.once("close", () => reject(new Error("the HTTP/2 session closed while connecting")));
    });
    const settle = () => {
      if (this.connecting === connecting) this.connecting = undefined;
    };
    connecting.then(settle, settle);
    return connecting;
  }

  private forget(session: http2.ClientHttp2Session): void {
    if (this.current === session) {
      this.current = undefined;
      this.connecting = undefined;
    }
  }

  private track(session: http2.ClientHttp2Session, stream: http2.ClientHttp2Stream): void {
    const open = (this.streams.get(session) ?? 0) + 1;
    this.streams.set(session, open);
    if (open === 1) session.ref();
    stream.once("close", () => {
      const left = (this.streams.get(session) ?? 1) - 1;
      this.streams.set(session, left);
      if (left === 0 && !session.destroyed) session.unref();
    });
  }
}
