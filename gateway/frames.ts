// WebSocket text frames built once and written as they are to every subscriber (RFC 6455 §5.2:
// server frames are never masked). The publisher writes one message to thousands of clients: it
// frames each message once, joins a window's frames per group of clients, and writes that buffer.

export function textFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const n = payload.length;
  const header = n < 126 ? Buffer.allocUnsafe(2) : n < 65536 ? Buffer.allocUnsafe(4) : Buffer.allocUnsafe(10);
  header[0] = 0x81; // FIN, text
  if (n < 126) header[1] = n;
  else if (n < 65536) { header[1] = 126; header.writeUInt16BE(n, 2); }
  else { header[1] = 127; header.writeUInt32BE(Math.floor(n / 2 ** 32), 2); header.writeUInt32BE(n >>> 0, 6); }
  return Buffer.concat([header, payload]);
}

/** The length of a frame's header, to get at its payload. */
export function frameHeaderLength(frame: Buffer): number {
  const len = frame[1] & 0x7f;
  return len < 126 ? 2 : len === 126 ? 4 : 10;
}
