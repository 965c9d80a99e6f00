// The exchange's HTTP server from the moment the process starts: it listens before recovery, so that
// an orchestrator can tell "alive, still recovering" from "dead". Until the gateway opens, /healthz
// answers 200 {"status":"ok"}, /readyz 503 {"status":"recovering"} with how far the replay has come,
// /metrics the start's figures (readiness, phase, commands replayed), and every other request, a
// WebSocket upgrade included, 503 RECOVERING with Retry-After. The gateway (Fastify) is then built on
// this very server (Fastify's serverFactory) and takes it over once it is ready: the port never
// closes between the two, and no request reaches a half-built gateway.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { clientErrorAnswer, endWithError } from './socketReply.ts';
import { Startup } from './startup.ts';

/** What a request gets while the exchange recovers. */
const RECOVERING_MESSAGE = 'the exchange is recovering its journal: retry once /readyz answers 200';
const RECOVERING = JSON.stringify({ error: { code: 'RECOVERING', message: RECOVERING_MESSAGE } });
const JSON_TYPE = 'application/json; charset=utf-8';
const HEALTHY = JSON.stringify({ status: 'ok' });

/**
 * How long a client may take to send a whole request (its line, headers and body), in ms: a request
 * still arriving after it is answered 408 REQUEST_TIMEOUT and its connection closed, so that a client
 * that never finishes neither holds a connection nor keeps a shutdown waiting. Node checks the
 * connections every CONNECTION_CHECK_MS.
 */
export const REQUEST_TIMEOUT_MS = 10_000;
export const CONNECTION_CHECK_MS = 500;

/** The server settings Fastify would have applied to a server of its own. */
interface ServerSettings { keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number; maxRequestsPerSocket?: number }

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export class StandbyServer {
  readonly server: Server;
  private handler: Handler | null = null;
  private readonly emit: (event: string | symbol, ...args: unknown[]) => boolean;
  /** Node hands an upgrade on only when the server has a listener for it; this one stands in. */
  private readonly upgradeStandIn = (): void => {};
  /** Until the gateway's own, a request Node's parser gives up on is answered in the API's shape here. */
  private readonly clientErrorStandIn = (err: Error, socket: Duplex): void => {
    const answer = clientErrorAnswer(err, socket, this.server.requestTimeout);
    if (answer === null) socket.destroy();
    else endWithError(socket, ...answer);
  };

  private constructor(private readonly startup: Startup, requestTimeoutMs: number) {
    // Without Host, the gateway answers in the API's error shape (server.ts), not Node with an empty 400.
    this.server = createServer({ requireHostHeader: false, requestTimeout: requestTimeoutMs, connectionsCheckingInterval: CONNECTION_CHECK_MS });
    // Until open(), requests and upgrades are answered here whatever listeners the gateway's
    // plugins add while it is being built (the WebSocket plugin listens for upgrades at once).
    this.emit = this.server.emit as (event: string | symbol, ...args: unknown[]) => boolean;
    this.server.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
      if (event === 'request') return this.answer(args[0] as IncomingMessage, args[1] as ServerResponse);
      if (event === 'upgrade') return this.refuseUpgrade(args[1] as Duplex);
      return this.emit.call(this.server, event, ...args);
    }) as Server['emit'];
    this.server.on('upgrade', this.upgradeStandIn);
    this.server.on('clientError', this.clientErrorStandIn);
  }

  /** Listens on host:port; resolves once it does. Its probes and metrics report `startup`. */
  static async listen(port: number, host: string, startup = new Startup(), requestTimeoutMs = REQUEST_TIMEOUT_MS): Promise<StandbyServer> {
    const standby = new StandbyServer(startup, requestTimeoutMs);
    await new Promise<void>((resolve, reject) => {
      standby.server.once('error', reject);
      standby.server.listen(port, host, () => {
        standby.server.off('error', reject);
        resolve();
      });
    });
    return standby;
  }

  /** The address it listens on, as http://host:port. */
  get address(): string {
    const a = this.server.address() as AddressInfo;
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /**
   * Fastify's serverFactory: keeps the gateway's request handler for open() and gives it this
   * server, with the settings Fastify gives a server of its own.
   */
  readonly factory = (handler: Handler, settings: ServerSettings): Server => {
    this.handler = handler;
    // Fastify answers them from now on (its clientErrorHandler).
    this.server.off('clientError', this.clientErrorStandIn);
    if (settings.keepAliveTimeout !== undefined) this.server.keepAliveTimeout = settings.keepAliveTimeout;
    if (settings.requestTimeout !== undefined) this.server.requestTimeout = settings.requestTimeout;
    if (settings.connectionTimeout !== undefined) this.server.setTimeout(settings.connectionTimeout);
    if (settings.maxRequestsPerSocket !== undefined && settings.maxRequestsPerSocket > 0) this.server.maxRequestsPerSocket = settings.maxRequestsPerSocket;
    return this.server;
  };

  /** Hands every later request and upgrade to the gateway (built with factory, and ready). */
  open(): void {
    if (this.handler === null) throw new Error('the gateway was not built on this server');
    this.server.emit = this.emit as Server['emit'];
    this.server.off('upgrade', this.upgradeStandIn);
    this.server.on('request', this.handler);
  }

  /**
   * Stops listening and ends its connections: idle ones at once, the others as they fall idle. A
   * request still being answered (a closed day's read on its thread, a settlement being written)
   * leaves its connection kept alive after the answer, which would hold the close for as long as
   * its client keeps it (Node closes only the connections idle when the server closes).
   */
  close(): Promise<void> {
    return new Promise((resolve) => {
      const sweep = setInterval(() => this.server.closeIdleConnections(), 20);
      // net's close, not http's: http's also stops Node's check of the request timeout, and a
      // client that never finishes its request would then hold the close without end. With the
      // check going on, it is answered 408 and closed within the timeout.
      NetServer.prototype.close.call(this.server, () => {
        clearInterval(sweep);
        resolve();
      });
      this.server.closeIdleConnections();
    });
  }

  private answer(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? '/').split('?')[0];
    const read = req.method === 'GET' || req.method === 'HEAD';
    let status = 503;
    let type = JSON_TYPE;
    let body = RECOVERING;
    if (read && path === '/healthz') [status, body] = [200, HEALTHY];
    else if (read && path === '/readyz') body = JSON.stringify(this.startup.status());
    else if (read && path === '/metrics') [status, type, body] = [200, 'text/plain; version=0.0.4', this.startup.text()];
    res.writeHead(status, {
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      ...(body === RECOVERING ? { 'retry-after': '1' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }

  private refuseUpgrade(socket: Duplex): boolean {
    socket.on('error', () => socket.destroy());
    endWithError(socket, 503, 'RECOVERING', RECOVERING_MESSAGE, { 'Retry-After': '1' });
    return true;
  }
}
