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
