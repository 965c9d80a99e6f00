// The OpenAPI document as /openapi.json serves it: @fastify/swagger's rendering of the routes'
// schemas, made valid OpenAPI 3.0 and exact about what a reply always carries.
// - A tuple (`items: [a, b, c]`, the book's [price, quantity, orders] levels, which the serialiser
//   needs) is not OpenAPI 3.0: it is described as an array of exactly that many items, each one of
//   the tuple's kinds, its description saying which position is which.
// - Every reply object carries every property its schema lists (null where there is none), so each
//   lists them all as `required`: a client generator then makes none of them optional. The
//   gateway's tests validate real replies of every route against this document.
// - The headers a client reads are declared: `x-exchange-seq` on the replies of commands,
//   `Retry-After` on 429 (and on a 503 while recovering or shutting down), `WWW-Authenticate` on 401,
//   the rate limit's `x-ratelimit-*` on the answers of every route it counts.
// - A request body that may be null may be left out (`required: false`).
// - GET /v1/ws, which the routes hide, is described by hand: an upgrade and its refusals.

import { ERROR_REPLY } from './http.ts';

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Rewrites `schema` in place (tuples always; `required` lists when `reply`), with everything below it. */
function rewrite(schema: unknown, reply: boolean): void {
  if (Array.isArray(schema)) {
    for (const s of schema) rewrite(s, reply);
    return;
  }
  if (!isNode(schema)) return;
  if (Array.isArray(schema.items)) schema.items = { anyOf: schema.items };
  if (reply && isNode(schema.properties) && schema.required === undefined) schema.required = Object.keys(schema.properties);
  for (const [key, value] of Object.entries(schema)) {
    // A property named like a keyword (a field called `items` or `required`) is a schema too.
    if (key === 'properties' && isNode(value)) for (const p of Object.values(value)) rewrite(p, reply);
    else if (key !== 'required' && key !== 'enum' && key !== 'example' && key !== 'default') rewrite(value, reply);
  }
}

/** The document made valid OpenAPI 3.0, with every reply object's properties required. */
export function openApiDocument<T extends { paths?: unknown }>(rendered: T): T {
  // A copy: the rendering may share objects with the routes' own schemas, which must not change.
  const doc = structuredClone(rendered);
  const paths = isNode(doc.paths) ? doc.paths : {};
  for (const [path, methods] of Object.entries(paths)) {
    if (!isNode(methods)) continue;
    for (const [method, op] of Object.entries(methods)) {
      if (!isNode(op)) continue;
      rewrite(op.parameters, false);
      rewrite(op.requestBody, false);
      rewrite(op.responses, true);
      // A body that may be null (an accept, an end of day) may be left out: no body counts as none.
      const body = isNode(op.requestBody) && isNode(op.requestBody.content) ? op.requestBody.content['application/json'] : undefined;
      if (isNode(body) && isNode(body.schema) && (body.schema.nullable === true || (Array.isArray(body.schema.type) && body.schema.type.includes('null')))) {
        (op.requestBody as Node).required = false;
      }
      if (isNode(op.responses)) declareHeaders(op.responses, method !== 'get' && method !== 'head', !PROBES.has(path));
    }
  }
  paths['/v1/ws'] = WEBSOCKET;
  doc.paths = paths as T['paths'];
  return doc;
}

/** The probes, which no rate limit counts. */
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/** GET /v1/ws, which the routes hide (it is an upgrade, not a JSON route): what a client sends and gets. */
const WEBSOCKET = {
  get: {
    summary: 'market data and execution reports over a WebSocket',
    description: 'An upgrade (Connection: Upgrade, Upgrade: websocket, Sec-WebSocket-Version: 13), without a query string or a subprotocol. The messages and channels are in API.md and the README: subscribe, unsubscribe, auth; book, trades, blocks, auctions, ticker, kline, warnings, orders.',
    responses: {
      101: { description: 'Switching Protocols: the WebSocket is open' },
      400: { description: 'not an upgrade, a handshake that cannot be taken, or a query string', content: { 'application/json': { schema: ERROR_REPLY } } },
      429: { description: 'TOO_MANY_CONNECTIONS: the address holds its bound of connections; or RATE_LIMITED', content: { 'application/json': { schema: ERROR_REPLY } } },
      503: { description: 'RECOVERING or SHUTTING_DOWN', content: { 'application/json': { schema: ERROR_REPLY } } },
    },
  },
};

const SEQ_HEADER = {
  description: 'the sequence number under which the journal holds the command (on every reply to a command the exchange took or refused)',
  required: false,
  schema: { type: 'string', description: 'digits' },
};
const RETRY_AFTER = { description: 'seconds to wait before trying again', required: true, schema: { type: 'string', description: 'digits' } };
const RETRY_AFTER_503 = { ...RETRY_AFTER, description: 'seconds to wait before trying again: on RECOVERING and SHUTTING_DOWN (not on a halt or a closed session)', required: false };
const WWW_AUTHENTICATE = { description: 'the scheme the route takes: Bearer (RFC 6750)', required: true, schema: { type: 'string' } };

/** On every answer of a route the rate limit counts, unless it is off (--rate-limit 0). */
const RATE_LIMIT_HEADERS = {
  'x-ratelimit-limit': { description: 'requests a second the key (or the address, without a valid key) may make', required: false, schema: { type: 'string', description: 'digits' } },
  'x-ratelimit-remaining': { description: 'requests left in this second', required: false, schema: { type: 'string', description: 'digits' } },
  'x-ratelimit-reset': { description: 'seconds until the allowance is whole again', required: false, schema: { type: 'string', description: 'digits' } },
};

/** Declares the headers a reply carries beside its body. */
function declareHeaders(responses: Node, command: boolean, limited: boolean): void {
  for (const [status, response] of Object.entries(responses)) {
    if (!isNode(response)) continue;
    const headers: Node = isNode(response.headers) ? response.headers : {};
    if (limited) Object.assign(headers, RATE_LIMIT_HEADERS);
    if (command && status !== '429' && status !== '503' && status !== '401') headers['x-exchange-seq'] = SEQ_HEADER;
    if (status === '429') headers['retry-after'] = RETRY_AFTER;
    if (status === '503') headers['retry-after'] = RETRY_AFTER_503;
    if (status === '401') headers['www-authenticate'] = WWW_AUTHENTICATE;
    if (Object.keys(headers).length > 0) response.headers = headers;
  }
}
