// The gateway (Fastify): authenticates and validates requests, turns them into commands for the
// sequencer and answers once the journal batch holding the command has committed. It never changes
// engine state itself; reads go through the engine's queries, the committed history and the
// publisher. Every route declares JSON schemas, which both refuse bad input with a 400 and make up
// the OpenAPI document at /openapi.json.
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { FastifyValidationResult } from 'fastify/types/schema.js';
import { Ajv } from 'ajv';
import websocket from '@fastify/websocket';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import secureJson from 'secure-json-parse';
import { isUtf8 } from 'node:buffer';
import type { IncomingHttpHeaders } from 'node:http';
import { dayOfDate } from '../engine/index.ts';
import { DATE, ERROR_REPLY, errorReplies, fail, jsonErrorAt, PATTERN_WORDS, repeatedKeyFault, UNAVAILABLE, type Gateway } from './http.ts';
import { arrive, inTurn, pass } from './arrivalOrder.ts';
import { openApiDocument } from './openapi.ts';
import { Publisher, type PublisherOptions } from './publisher.ts';
import { MonotonicRateStore } from './rateStore.ts';
import { clientErrorAnswer, endWithError } from './socketReply.ts';
import { CONNECTION_CHECK_MS, REQUEST_TIMEOUT_MS, type StandbyServer } from './standby.ts';
import { START_PHASES } from './startup.ts';
import { marketRoutes } from './routes/market.ts';
import { tradingRoutes } from './routes/trading.ts';
import { auctionRoutes } from './routes/auctions.ts';
import { riskRoutes } from './routes/risk.ts';
import { adminRoutes } from './routes/admin.ts';

/** Whether a request's headers announce a body. */
const hasBody = (h: IncomingHttpHeaders): boolean => h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');

/** Longer path parameters are refused by the router, before any schema (Fastify's default). */
const MAX_PARAM_LENGTH = 100;

/** The methods a path may be routed for (HEAD comes with every GET). */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

export interface ServerOptions {
  logger?: boolean;
  /** Requests per key (or per address without one) per second; 0 turns the limit off. */
  rateLimit?: number;
  publisher?: PublisherOptions;
  /**
   * Open WebSocket connections an address may hold at once (default 100; 0 = no bound): one more
   * upgrade is answered 429 TOO_MANY_CONNECTIONS. Each connection may hold up to the publisher's
   * bound of unsent data, so without it one address could grow the server's memory without end.
   */
  wsPerAddress?: number;
  /** How long a client may take to send a whole request, in ms (REQUEST_TIMEOUT_MS); 0 = no limit. */
  requestTimeoutMs?: number;
  /** A server already listening (the exchange's start): the gateway is built on it, not on one of its own. */
  standby?: StandbyServer;
}

/** What a type or a bound Ajv refused asks for, in words (its own say "must be >= 1", "must be integer,null"); undefined for others. */
function boundWords(keyword: string | undefined, params: Record<string, unknown> | undefined): string | undefined {
  const limit = Number(params?.limit);
  switch (keyword) {
    case 'type': {
      const names: Record<string, string> = { string: 'a string', integer: 'a whole number', number: 'a number', boolean: 'true or false', object: 'an object', array: 'an array', null: 'null' };
      return String(params?.type ?? '').split(',').map((t) => names[t] ?? t).join(' or ');
    }
    case 'minimum': return `at least ${limit}`;
    case 'maximum': return `at most ${limit}`;
    case 'minLength': return `at least ${limit} character${limit === 1 ? '' : 's'} long`;
    case 'maxLength': return `at most ${limit} characters long`;
    case 'minItems': return `a list of at least ${limit} item${limit === 1 ? '' : 's'}`;
    case 'maxItems': return `a list of at most ${limit} items`;
    case 'uniqueItems': return 'a list without repeats';
    default: return undefined;
  }
}

/** The key of an `Authorization: Bearer <key>` header (the scheme in any case), or ''. */
function bearerKey(header: string | string[] | undefined): string {
  if (typeof header !== 'string' || !/^bearer /i.test(header)) return '';
  return header.slice(7).trim(); // a key longer than any there is, the key ring refuses unread (an unknown key, not none)
}

/** Whether a request's raw headers (name, value, name, value…) carry Authorization more than once. */
function repeatedAuthorization(raw: string[]): boolean {
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === 13 && raw[i].toLowerCase() === 'authorization') {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}

/**
 * A URL as it may be logged: the query parameters some route takes (`known`, names as decoded) as
 * they came, every other one `[hidden]`, name and value: a key, token or signature may come under
 * any name or spelling, or be pasted as a name itself. A path segment or a kept parameter's value
 * that `isKey` takes for a key (pasted where an id or an account belongs) is `[hidden]` too.
 */
export function hideSecrets(url: string, known: ReadonlySet<string>, isKey: (text: string) => boolean = () => false): string {
  const q = url.indexOf('?');
  const path = (q < 0 ? url : url.slice(0, q)).split('/').map((segment) => (isKey(decoded(segment) ?? segment) ? '[hidden]' : segment)).join('/');
  if (q < 0) return path;
  const hash = url.indexOf('#', q);
  const query = url.slice(q + 1, hash < 0 ? undefined : hash);
  const shown = query.split('&').map((part) => {
    const eq = part.indexOf('=');
    const name = decoded(eq < 0 ? part : part.slice(0, eq));
    if (name === null || !known.has(name)) return '[hidden]';
    const value = eq < 0 ? '' : part.slice(eq + 1);
    return isKey(decoded(value) ?? value) ? `${part.slice(0, eq)}=[hidden]` : part;
  });
  return `${path}?${shown.join('&')}`;
}

/** A URL part decoded (`+` a space), or null when it is not valid percent-encoding. */
function decoded(part: string): string | null {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/** The shape of the keys the exchange makes (KeyRing.demo): hidden in a logged URL even when not this exchange's. */
const MADE_KEY = /^(mem|risk|ops)_[A-Za-z0-9_-]{24}$/;

export async function buildServer(g: Gateway, options: ServerOptions = {}): Promise<{ app: FastifyInstance; publisher: Publisher }> {
  let requestNo = 0;
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  /** The query parameters the routes take (filled as they are registered), which the log shows. */
  const queryNames = new Set<string>();
  /** Whether a part of a URL is a key (keys have 16 characters or more): this exchange's, or one of the shape it makes. */
  const looksLikeKey = (text: string): boolean => text.length >= 16 && (MADE_KEY.test(text) || g.keys.identify(text) !== null);
  /** A request no route answers, refused on its socket: counted as `fail` counts the others. */
  const refuseSocket = (socket: Duplex, status: number, message: string, headers?: Record<string, string>) => {
    g.metrics.onHttpError(status, 'INVALID_REQUEST');
    endWithError(socket, status, 'INVALID_REQUEST', message, headers);
  };
  const app = Fastify({
    // Never a key in the log: headers are not logged (and redacted if they were), and a query
    // parameter whose name speaks of a key, token, secret or password has its value hidden.
    logger: options.logger === true ? {
      level: 'info',
      redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]'], censor: '[hidden]' },
      serializers: {
        req: (req: { method: string; url: string; ip?: string; socket?: { remotePort?: number } }) => ({
          method: req.method, url: hideSecrets(req.url, queryNames, looksLikeKey), remoteAddress: req.ip, remotePort: req.socket?.remotePort,
        }),
      },
    } : false,
    // Requests Node's HTTP parser refuses (not HTTP, an unknown method, headers or a URL over its
    // limit, not whole within the request timeout) are answered in the API's error shape too, not
    // Fastify's own.
    clientErrorHandler: (err: Error & { code?: string }, socket: Duplex) => {
      const answer = clientErrorAnswer(err, socket, requestTimeout);
      if (answer === null) { socket.destroy(); return; }
      g.metrics.onHttpError(answer[0], answer[1]);
      endWithError(socket, ...answer);
    },
    // A request must arrive whole within it (a client that never finishes one would otherwise hold
    // its connection, and a shutdown, without end); Fastify's default is none.
    requestTimeout,
    genReqId: () => `r${(++requestNo).toString(36)}`,
    // An HTTP/1.1 request without Host is answered by the preParsing hook in the API's error shape,
    // not by Node with an empty 400.
    http: { requireHostHeader: false, connectionsCheckingInterval: CONNECTION_CHECK_MS },
    bodyLimit: 64 * 1024,
    // Router errors (an over-long path parameter, a bad URL) get the same error body as the rest, in
    // words of our own: Fastify's quote the whole path back.
    frameworkErrors: (err, _req, reply) => {
      const words = (err as { code?: string }).code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? `a path parameter is longer than ${MAX_PARAM_LENGTH} characters: no id, symbol, date or report name is`
        : (err as { code?: string }).code === 'FST_ERR_BAD_URL' ? 'the path is not a valid URL (a bad percent-encoding)' : err.message;
      fail(reply, 400, 'INVALID_REQUEST', words);
    },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // While it shuts down, the preParsing hook below answers in the API's error shape (Fastify's own
    // 503 has another body, and would also fail /healthz).
    return503OnClosing: false,
    ...(options.standby === undefined ? {} : { serverFactory: options.standby.factory }),
  });

  // Every error answer (http.ts `fail`) is counted by status and code.
  app.decorate('metrics', g.metrics);

  // Bodies are JSON only: Fastify would also take text/plain, and hand the schema a string.
  app.removeContentTypeParser('text/plain');
  // An empty JSON body (many clients send Content-Type: application/json on every request, a
  // cancel's DELETE included) is no body: a route that takes none goes ahead, and one that needs
  // one says so in words. A body is UTF-8 JSON as sent (RFC 8259): another charset, a compressed
  // body or bytes that are not UTF-8 are refused, never read with replacement characters into the
  // journal. Prototype poisoning is refused, as Fastify's own parser does, and each refusal says
  // what is wrong.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, raw, done) => {
    const refused = bodyRefusal(req.headers, raw as Buffer);
    if (refused !== null) return done(refused, undefined);
    const text = (raw as Buffer).toString('utf8');
    if (/^[ \t\r\n]*$/.test(text)) return done(null, undefined); // JSON's own blanks only
    let parsed: unknown;
    try {
      parsed = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
    } catch (e) {
      const message = (e as Error).message;
      if (message.includes('forbidden prototype property')) return done(bodyError(400, 'the body has a property named __proto__, or constructor.prototype, which is never taken'), undefined);
      // Only where the syntax breaks, counting from 1: the parser's own message may quote the body.
      const at = jsonErrorAt(text);
      return done(bodyError(400, `the body is not valid JSON${at < 0 ? '' : at >= text.length ? ' (it ends before its last value does)' : ` (at character ${at + 1})`}`), undefined);
    }
    const twice = repeatedKeyFault(text, parsed, 'the body');
    if (twice !== null) return done(bodyError(400, twice), undefined);
    done(null, parsed);
  });

  // Bodies are JSON and must have the declared types exactly: a string where a number belongs is
  // refused, never converted. Query strings and path parameters are text, so they are converted.
  // Verbose: a refusal carries the schema it failed, so that its words can name the form asked for.
  const strict = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false, strict: false, verbose: true });
  const lenient = new Ajv({ coerceTypes: true, removeAdditional: false, useDefaults: true, allErrors: false, strict: false, verbose: true });
  // A date is a day of the calendar: 2026-02-30 is refused here, not looked up and not found.
  for (const ajv of [strict, lenient]) ajv.addFormat('date', { type: 'string', validate: (text: string) => dayOfDate(text) !== null });
  app.setValidatorCompiler(({ schema, httpPart }) => {
    if (httpPart === 'body') return strict.compile(schema);
    const validate = lenient.compile(schema);
    // Ajv converts any text Number() reads (0x1f, 1e1, " 5", 5.0) into a whole number: a query
    // string's or a path's whole number is written in decimal digits, or refused as one.
    const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
    const integers = Object.keys(properties).filter((name) => properties[name].type === 'integer');
    // A query parameter given twice (?depth=5&depth=6) is said so, not refused as of the wrong type.
    const single = httpPart === 'querystring' ? Object.keys(properties) : [];
    if (integers.length === 0 && single.length === 0) return validate;
    const checked: FastifyValidationResult = (data: Record<string, unknown> | null | undefined): boolean => {
      for (const name of single) {
        if (Array.isArray(data?.[name])) {
          checked.errors = [{ keyword: 'repeated', instancePath: `/${name}`, schemaPath: `#/properties/${name}`, params: {}, message: 'is given more than once: give it once' }];
          return false;
        }
      }
      for (const name of integers) {
        const value = data?.[name];
        if (typeof value === 'string' && !/^-?[0-9]+$/.test(value)) {
          checked.errors = [{ keyword: 'type', instancePath: `/${name}`, schemaPath: `#/properties/${name}/type`, params: { type: 'integer' }, message: 'must be integer' }];
          return false;
        }
      }
      const ok = validate(data);
      checked.errors = validate.errors;
      return ok;
    };
    return checked;
  });

  app.setErrorHandler((err: Error & { validation?: { keyword?: string; instancePath?: string; params?: Record<string, unknown>; parentSchema?: { pattern?: string; properties?: Record<string, unknown> }; data?: unknown }[]; validationContext?: string; statusCode?: number; code?: string }, req, reply) => {
    if (err.validation) {
      const first = err.validation[0];
      const where = err.validationContext ?? 'the request';
      // A pattern or a date is said in words: a caller should not have to read a regular expression;
      // nor a number where a text with a pattern belongs (a price sent as 57.46), nor a bound.
      // A text too long that would not have the pattern's form at any length either (an amount of
      // fifteen digits) is told the form, not a count of characters.
      const pattern = first?.parentSchema?.pattern;
      const patterned = typeof pattern === 'string' && (first?.keyword === 'type' || (first?.keyword === 'maxLength' && typeof first.data === 'string' && !new RegExp(pattern, 'u').test(first.data)))
        ? PATTERN_WORDS.get(pattern) : undefined;
      const words = first?.keyword === 'pattern' ? PATTERN_WORDS.get(String(first.params?.pattern))
        : first?.keyword === 'format' && first.params?.format === 'date' ? PATTERN_WORDS.get(DATE.pattern)
          : patterned ?? (first === undefined ? undefined : boundWords(first.keyword, first.params));
      if (words !== undefined) return fail(reply, 400, 'INVALID_REQUEST', `${where}${first?.instancePath ?? ''} must be ${words}`);
      // A choice names its choices (Ajv says only "must be equal to one of the allowed values").
      const allowed = first?.keyword === 'enum' ? first.params?.allowedValues : undefined;
      if (Array.isArray(allowed)) return fail(reply, 400, 'INVALID_REQUEST', `${where}${first?.instancePath ?? ''} must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`);
      // A missing property is named as a path, as every other refusal names its field (Ajv says
      // "must have required property 'reason'").
      if (first?.keyword === 'required') return fail(reply, 400, 'INVALID_REQUEST', `${where}${first.instancePath ?? ''}/${String(first.params?.missingProperty)} is required`);
      // A body that must name something (a modification) says what it may name.
      if (first?.keyword === 'minProperties') {
        return fail(reply, 400, 'INVALID_REQUEST', `${where}${first.instancePath ?? ''} must name at least one of ${Object.keys(first.parentSchema?.properties ?? {}).join(', ')}`);
      }
      // An unknown property is named (Ajv's own message does not say which one).
      const extra = first?.keyword === 'additionalProperties' ? String(first.params?.additionalProperty ?? '') : null;
      const message = extra === null ? err.message
        : extra === '' ? `${where} has a property with an empty name, which this route does not take`
          : `${where} has a property ${JSON.stringify(extra.slice(0, 64))} this route does not take`;
      return fail(reply, 400, 'INVALID_REQUEST', message);
    }
    if (err.statusCode === 429) return fail(reply, 429, 'RATE_LIMITED', err.message);
    if (err.statusCode === 413) {
      const limit = req.routeOptions.bodyLimit;
      return fail(reply, 413, 'PAYLOAD_TOO_LARGE', `the request body is larger than the ${limit === undefined ? 'exchange accepts' : `${limit / 1024} KiB this route accepts`}`);
    }
    // Fastify says only "Unsupported Media Type": the caller is told what is taken.
    if (err.statusCode === 415 && err.code !== BODY_REFUSED) return fail(reply, 415, 'INVALID_REQUEST', `the body must be JSON, sent with Content-Type: application/json (not ${JSON.stringify(String(req.headers['content-type'] ?? '').slice(0, 64))})`);
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return fail(reply, err.statusCode, 'INVALID_REQUEST', err.message);
    req.log.error({ err }, 'request failed');
    return fail(reply, 500, 'INTERNAL', 'the exchange could not process the request');
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Carbon exchange API', version: '1' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
    },
    transformObject: (doc) => openApiDocument('openapiObject' in doc ? doc.openapiObject : doc.swaggerObject),
  });
  if ((options.rateLimit ?? 200) > 0) {
    await app.register(rateLimit, {
      max: options.rateLimit ?? 200,
      timeWindow: 1000,
      store: MonotonicRateStore,
      // One allowance per known key; everything else (no key, a made-up one) shares its address's.
      keyGenerator: (req) => {
        const key = bearerKey(req.headers.authorization);
        const known = key === '' ? null : g.keys.identify(key);
        return known === null ? `ip ${req.ip}` : `key ${known.hash}`;
      },
      errorResponseBuilder: (_req, ctx) => ({ statusCode: 429, error: 'Too Many Requests', message: `at most ${ctx.max} requests a second per key (per address for requests without a valid key); retry in ${ctx.after}` }),
    });
  }
  // A path that exists under other methods is 405 with the methods it takes (Allow), not 404. Both
  // spend the caller's allowance like any request (the plugin limits routes only): a flood of
  // made-up paths would otherwise be answered and logged without limit.
  app.setNotFoundHandler(app.hasDecorator('rateLimit') ? { preHandler: app.rateLimit() } : {}, (req, reply) => {
    const path = req.url.split('?')[0];
    const allowed = METHODS.filter((method) => app.findRoute({ method, url: path }) !== null);
    if (allowed.length === 0) return fail(reply, 404, 'NOT_FOUND', `no route ${req.method} ${path}`);
    reply.header('allow', allowed.join(', '));
    return fail(reply, 405, 'METHOD_NOT_ALLOWED', `${path} takes ${allowed.join(', ')}, not ${req.method}`);
  });
  // On shutdown the subscribers hear why (1001 and a reason) before the WebSocket plugin's own
  // preClose, which closes them without a code: hooks run in the order they were added.
  // And before that, what the exchange took before the shutdown is committed and published: the
  // requests already in hand are answered, and their trades and execution reports must reach the
  // subscribers before the close, which no seq gap would show them.
  const publisher = new Publisher(g, options.publisher);
  let closingIdle: NodeJS.Timeout | null = null;
  app.addHook('preClose', async () => {
    const until = performance.now() + 2000;
    for (;;) {
      const seq = g.engine.lastSequence;
      await g.sequencer.committed();
      // A turn for requests whose bodies were still arriving: what they submit is committed too.
      await new Promise((resolve) => setImmediate(resolve));
      if (g.engine.lastSequence === seq || performance.now() > until) break;
    }
    publisher.goingAway();
    // Node closes the connections that are idle when the server closes, not those that answer a
    // request then and stay open (keep-alive) after it, which would hold the close for as long as
    // their clients keep them: they are closed as they fall idle.
    closingIdle = setInterval(() => app.server.closeIdleConnections(), 20);
  });
  app.addHook('onClose', (_app, done) => {
    if (closingIdle !== null) clearInterval(closingIdle);
    done();
  });
  // An answer sent once the shutdown (or the drain before it) has begun closes its connection: a
  // request in hand when it began is answered, and its client must not send the next one on a
  // connection that the shutdown then closes (it would meet a reset, not knowing whether that
  // request was taken); while draining, its next request goes where the load balancer now sends it.
  // So does a refusal sent before the body it declares has come (a 401 or 403 is answered before the
  // body is read): the rest would be read as the connection's next request, or time out into a
  // second, unasked-for answer (408).
  app.addHook('onSend', (req, reply, payload, done) => {
    pass(req);
    if (!g.ready() || g.draining() || (reply.statusCode >= 400 && !req.raw.complete && hasBody(req.headers))) reply.header('connection', 'close');
    done(null, payload);
  });
  // No subprotocol: one a client offers is not agreed to (ws would echo the first offered).
  await app.register(websocket, { options: { maxPayload: 64 * 1024, perMessageDeflate: false, handleProtocols: () => false } });
  // A handshake ws refuses (a bad Sec-WebSocket-Key or version, an Upgrade that is not websocket) is
  // answered in the API's error shape too, rather than with ws's own text/html body.
  app.websocketServer.on('wsClientError', (err: Error, socket: Duplex) => {
    refuseSocket(socket, 400, `the WebSocket handshake was refused: ${err.message}`, /Sec-WebSocket-Version/.test(err.message) ? { 'Sec-WebSocket-Version': '13' } : {});
  });

  // Authentication: a route that declares a role needs a key of that role. It runs before the body
  // is read or validated, so a caller without the right key learns nothing more; and after the rate
  // limit (a route's onRequest hook), so that guessing keys is counted against the caller's address
  // like any other request.
  app.decorateRequest('principal', null);
  // A connection's requests take effect in the order they arrived (arrivalOrder.ts): each takes its
  // place here, acts in its turn (the preHandler hook below) and lets the next one act once it has
  // submitted its command (http.ts `submit`) or been answered (the onSend hook above).
  app.decorateRequest('line', null);
  app.decorateRequest('place', -1);
  app.addHook('onRequest', (req, _reply, done) => {
    arrive(req);
    done();
  });
  const wsPerAddress = options.wsPerAddress ?? 100;
  /** Open WebSocket connections (and upgrades under way) by address. */
  const wsOpen = new Map<string, number>();
  // (Both hooks take a callback rather than return a promise: they run on every request.)
  app.addHook('preParsing', (req, reply, payload, done) => {
    const config = req.routeOptions.config;
    if (!g.ready() && config?.probe !== true) {
      // Shutting down (the gateway serves only once ready): a request still arriving on an open
      // connection is not started, and the connection is closed after the answer (onSend).
      reply.header('retry-after', '1');
      fail(reply, 503, 'SHUTTING_DOWN', 'the exchange is shutting down: retry in a moment, on another instance or once it is back');
      return;
    }
    if (req.headers.host === undefined && req.raw.httpVersionMinor === 1) {
      fail(reply, 400, 'INVALID_REQUEST', 'an HTTP/1.1 request needs a Host header');
      return;
    }
    // An upgrade to any other route is refused, rather than opened and closed at once without a code.
    if (req.ws && req.routeOptions.url !== '/v1/ws') {
      const path = req.url.split('?')[0];
      fail(reply, 400, 'INVALID_REQUEST', path === '/v1/ws' ? `a WebSocket is opened with GET /v1/ws, not ${req.method}` : `only GET /v1/ws opens a WebSocket; ${path} does not`);
      return;
    }
    if (req.ws && wsPerAddress > 0) {
      // Counted from the upgrade until its connection closes (the socket stays the WebSocket's).
      const ip = req.ip;
      const open = wsOpen.get(ip) ?? 0;
      if (open >= wsPerAddress) {
        reply.header('retry-after', '1');
        fail(reply, 429, 'TOO_MANY_CONNECTIONS', `at most ${wsPerAddress} WebSocket connections at once per address; ${ip} has ${open} open: close one, or subscribe to more channels on one connection`);
        return;
      }
      wsOpen.set(ip, open + 1);
      req.raw.socket.once('close', () => {
        const left = (wsOpen.get(ip) ?? 1) - 1;
        if (left > 0) wsOpen.set(ip, left);
        else wsOpen.delete(ip);
      });
    }
    const role = config?.role;
    if (role === undefined) return done(null, payload);
    if (repeatedAuthorization(req.raw.rawHeaders)) {
      // Node keeps the first and drops the rest: which key acts must not be a guess.
      fail(reply, 400, 'INVALID_REQUEST', 'the Authorization header is given more than once: send one, with one key');
      return;
    }
    const key = bearerKey(req.headers.authorization);
    const p = key === '' ? null : g.keys.lookup(key);
    // A reply sent from a hook ends the request: done() is not called then, and the reply (a
    // thenable) is not returned, which would make Fastify wait on it as on an async hook.
    if (p === null) {
      // RFC 9110 section 11.6.1 (and RFC 6750 section 3): a 401 names the scheme it takes.
      reply.header('www-authenticate', key === '' ? 'Bearer realm="exchange"' : 'Bearer realm="exchange", error="invalid_token"');
      fail(reply, 401, 'UNAUTHENTICATED', key === '' ? 'send Authorization: Bearer <api key>' : 'the API key sent (Authorization: Bearer) is not one the exchange knows');
      return;
    }
    if (typeof role === 'string' ? p.role !== role : !role.includes(p.role)) {
      const roles = typeof role === 'string' ? `the role ${role}` : `the roles ${role.join(', ')}`;
      req.principal = p; // for the refusal's log line, which names who was refused
      fail(reply, 403, 'NOT_PERMITTED', `this route is for ${roles}; your key is ${p.role}`);
      return;
    }
    req.principal = p;
    done(null, payload);
  });

  // A request acts in its turn: once those sent before it on its connection have. A read then waits
  // until everything applied before it is committed: between a command's apply and its batch's
  // commit the engine already shows it, and a reply must never show what could be lost.
  app.addHook('preHandler', (req, _reply, done) => {
    inTurn(req, req.method === 'GET' ? () => { g.sequencer.committed().then(() => done(), done); } : done);
  });

  app.addHook('onClose', async () => publisher.close());

  // Probes and scrapes are never rate-limited: a liveness probe must not fail under load. Taking no
  // input and needing no key, they send no 4xx either.
  const unlimited = { config: { rateLimit: false, probe: true } } as const;
  const probe = (status: string) => ({ type: 'object', properties: { status: { type: 'string', enum: [status] } }, additionalProperties: false });
  app.get('/healthz', { ...unlimited, schema: { response: { 200: probe('ok'), ...errorReplies(500) } } }, async () => ({ status: 'ok' }));
  app.get('/readyz', {
    ...unlimited,
    schema: {
      response: {
        200: probe('ready'),
        // While it recovers the answer comes from the standby server (gateway/standby.ts), with how
        // far the start has come; this route itself answers it only while draining or shutting down.
        503: {
          type: 'object',
          description: 'not ready: recovery is not complete (with how far it has come), or the exchange is draining or shutting down',
          properties: {
            status: { type: 'string', enum: ['recovering', 'stopping'] },
            phase: { type: 'string', enum: START_PHASES },
            replayed: { type: 'integer', description: 'commands replayed so far' },
            toReplay: { type: 'integer', description: 'commands journalled after the snapshot recovery started from' },
          },
          required: ['status'],
          additionalProperties: false,
        },
        ...errorReplies(500),
      },
    },
  }, async (_req, reply) => (g.ready() && !g.draining() ? { status: 'ready' } : reply.code(503).send({ status: 'stopping' })));
  // The text is sent as it is, with its own content type: a string is never serialised again.
  app.get('/metrics', {
    ...unlimited,
    schema: {
      response: {
        200: { description: 'the Prometheus text format, version 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } },
        ...errorReplies(500),
      },
    },
  }, async (_req, reply) => reply.type('text/plain; version=0.0.4').send(g.metrics.text()));
  // Hidden from the document it serves; its reply is that document, every key kept.
  app.get('/openapi.json', {
    config: { probe: true },
    schema: { hide: true, response: { 200: { type: 'object', additionalProperties: true }, ...errorReplies(429, 500) } },
  }, async () => app.swagger());
  // A plain GET (no upgrade) is answered, in the API's error shape, with what to send instead.
  app.route({
    // It takes no query string either (a key passed as ?token= would otherwise open an unauthenticated connection in silence).
    method: 'GET', url: '/v1/ws', schema: { hide: true, querystring: { type: 'object', properties: {}, additionalProperties: false } },
    handler: (_req, reply) => fail(reply, 400, 'INVALID_REQUEST', 'GET /v1/ws opens a WebSocket: send it as an upgrade (Connection: Upgrade, Upgrade: websocket, Sec-WebSocket-Key, Sec-WebSocket-Version: 13)'),
    wsHandler: (socket) => publisher.attach(socket),
  });

  // The API routes below (not the probes above) get two things added to their schemas as they are
  // registered. A route that takes no query string refuses one, as the routes that take some refuse
  // an unknown parameter: nothing a caller sends is silently ignored.
  // That refusal is a 400, declared with the route's other replies.
  app.addHook('onRoute', (route) => {
    if (route.schema?.querystring !== undefined) return;
    const response = route.schema?.response as Record<number, unknown> | undefined;
    route.schema = {
      ...route.schema,
      querystring: { type: 'object', properties: {}, additionalProperties: false },
      ...(response === undefined || response[400] !== undefined ? {} : { response: { ...response, ...errorReplies(400) } }),
    };
  });
  // A command route that takes no body (a cancel, a withdrawal, a rejection) refuses one that carries
  // anything, rather than acting as if it were not there: `{"quantity": 5}` sent with a cancel is not
  // a reduction. No body, an empty one, `{}` and `null` carry nothing.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (route.schema?.body !== undefined || !methods.some((m) => m === 'POST' || m === 'PUT' || m === 'PATCH' || m === 'DELETE')) return;
    const noBody = (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void => {
      const body = req.body as unknown;
      if (body === undefined || body === null || (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0)) return done();
      fail(reply, 400, 'INVALID_REQUEST', `${req.method} ${route.url} takes no body; this one carries ${Array.isArray(body) ? 'a list' : typeof body === 'object' ? `the properties ${Object.keys(body).map((k) => JSON.stringify(k)).join(', ')}` : `a ${typeof body}`}`);
    };
    route.preValidation = route.preValidation === undefined ? noBody : [...(Array.isArray(route.preValidation) ? route.preValidation : [route.preValidation]), noBody];
  });
  // The log shows these parameters' values (hideSecrets), and hides any other.
  app.addHook('onRoute', (route) => {
    for (const name of Object.keys((route.schema?.querystring as { properties?: object } | undefined)?.properties ?? {})) queryNames.add(name);
  });
  // A route that takes a key says so in the document: the bearer scheme, on that route.
  app.addHook('onRoute', (route) => {
    if ((route.config as { role?: string } | undefined)?.role !== undefined) route.schema = { ...route.schema, security: [{ apiKey: [] }] };
  });
  // And every one may answer 503 while the exchange recovers or shuts down: said in its document,
  // next to what its own 503 (a halt, a closed session) means.
  app.addHook('onRoute', (route) => {
    const response = route.schema?.response as Record<string, { description?: string }> | undefined;
    if (response === undefined) return;
    const own = response[503];
    const unavailable = own === undefined ? { ...ERROR_REPLY, description: UNAVAILABLE } : { ...own, description: `${own.description}; or ${UNAVAILABLE}` };
    route.schema = { ...route.schema, response: { ...response, 503: unavailable } };
  });
  marketRoutes(app, g);
  tradingRoutes(app, g);
  auctionRoutes(app, g);
  riskRoutes(app, g);
  adminRoutes(app, g);
  return { app, publisher };
}

/** The code of a body refused by the JSON parser, whose message says why (see bodyRefusal). */
const BODY_REFUSED = 'BODY_REFUSED';

function bodyError(statusCode: number, message: string): Error {
  return Object.assign(new Error(message), { statusCode, code: BODY_REFUSED });
}

/**
 * Why a JSON body cannot be read as sent, or null: a charset other than UTF-8 or a content coding
 * (both 415), or bytes that are not UTF-8 (400).
 */
function bodyRefusal(headers: IncomingHttpHeaders, raw: Buffer): Error | null {
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(headers['content-type'] ?? '')?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    return bodyError(415, `the body must be UTF-8 JSON: Content-Type charset ${JSON.stringify(charset.slice(0, 32))} is not taken`);
  }
  const coding = headers['content-encoding'];
  if (coding !== undefined && coding.trim().toLowerCase() !== 'identity') {
    return bodyError(415, `the body must be sent uncompressed: Content-Encoding ${JSON.stringify(coding.slice(0, 32))} is not taken`);
  }
  if (!isUtf8(raw)) return bodyError(400, 'the body is not UTF-8 text');
  return null;
}
