// An answer written straight to a socket, for the requests no route answers: what Node's HTTP
// parser refuses, a WebSocket handshake ws refuses, an upgrade while the exchange recovers. The
// body is the API's error shape; the connection is closed after it.
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

export function endWithError(socket: Duplex, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: { code, message } });
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

/**
 * How a request Node's HTTP parser gave up on is answered, as [status, code, message]: one that did
 * not arrive whole in time (requestTimeoutMs), headers over the limit, bytes that are not HTTP. Null
 * when it cannot be: the client is gone, or an answer to it is already being written (an early
 * refusal of a body still arriving), which another answer would corrupt.
 */
export function clientErrorAnswer(err: Error & { code?: string }, socket: Duplex, requestTimeoutMs: number): [status: number, code: string, message: string] | null {
  const answering = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (err.code === 'ECONNRESET' || !socket.writable || answering) return null;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return [408, 'REQUEST_TIMEOUT', `the request did not arrive whole within ${requestTimeoutMs / 1000} s: send it again, all of it at once`];
  if (err.code === 'HPE_HEADER_OVERFLOW') return [431, 'INVALID_REQUEST', 'the request line and headers (the URL included) are larger than the exchange accepts (16 KiB)'];
  return [400, 'INVALID_REQUEST', `the request is not HTTP/1.1 the exchange can read (${err.code ?? err.message})`];
}
