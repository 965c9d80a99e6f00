// Requests pipelined on one HTTP/1.1 connection (sent one after another without waiting for the
// answers) are applied in the order they were sent, as their answers come back in it: a cancel
// without a body sent after a modification does not overtake it while the modification's body is
// read, and the x-exchange-seq of the answers rises in their order. A refusal among them holds
// nothing up, and a read sent after a write shows it.
import t, { type Test } from 'tap';
import { connect } from 'node:net';
import { expectOk, KEYS, startServer } from '../support/server.ts';

const s = await startServer();
t.teardown(() => s.close());

interface Sent { method: string; path: string; key: keyof typeof KEYS; body?: unknown }
interface Answer { status: number; seq: number | null; body: any }

/** One request's text: its head, and its body if any. */
function text(r: Sent): string {
  const body = r.body === undefined ? '' : JSON.stringify(r.body);
  const head = `${r.method} ${r.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEYS[r.key]}\r\n`;
  return body === '' ? `${head}\r\n` : `${head}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/**
 * Writes the parts on one connection, each part a single write (a part is text, or a pause in
 * milliseconds before the next), and reads `count` answers (each with a Content-Length).
 */
function pipeline(parts: (string | number)[], count: number): Promise<Answer[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(s.port, '127.0.0.1');
    let buffer = Buffer.alloc(0);
    const answers: Answer[] = [];
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`${answers.length} of ${count} answers came`)); }, 5000);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        const seq = /\r\nx-exchange-seq: *(\d+)/i.exec(head);
        answers.push({ status: Number(head.split(' ')[1]), seq: seq === null ? null : Number(seq[1]), body: JSON.parse(buffer.subarray(end + 4, end + 4 + length).toString('utf8')) });
        buffer = buffer.subarray(end + 4 + length);
        if (answers.length === count) {
          clearTimeout(timer);
          socket.destroy();
          resolve(answers);
          return;
        }
      }
    });
    socket.on('error', reject);
    socket.on('connect', async () => {
      for (const part of parts) {
        if (typeof part === 'number') await new Promise((r) => setTimeout(r, part));
        else socket.write(part);
      }
    });
  });
}

const resting = async (t: Test, price: string) => {
  const r = await s.api('POST', '/v1/orders', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price, quantity: 10 } });
  expectOk(t, r, 201, 'a resting buy');
  return r.body.order.orderId as string;
};

t.test('a modification then a cancel, in one write: applied in that order', async (t) => {
  for (let i = 0; i < 5; i++) {
    const id = await resting(t, '56.00');
    const [modified, cancelled] = await pipeline([
      text({ method: 'PATCH', path: `/v1/orders/${id}`, key: 'M1', body: { quantity: 5 } }) + text({ method: 'DELETE', path: `/v1/orders/${id}`, key: 'M1' }),
    ], 2);
    t.equal(modified.status, 200, 'the modification is taken: the cancel came after it');
    t.equal(modified.body.order?.quantity, 5, 'to 5 t');
    t.equal(cancelled.status, 200, 'then the cancel');
    t.match(cancelled.body.order, { status: 'cancelled', quantity: 5 }, 'of the modified order');
    t.ok((modified.seq as number) < (cancelled.seq as number), `x-exchange-seq rises in the answers' order (${modified.seq}, ${cancelled.seq})`);
  }
});

t.test('the modification\'s body arriving later still goes first', async (t) => {
  const id = await resting(t, '55.90');
  const patch = text({ method: 'PATCH', path: `/v1/orders/${id}`, key: 'M1', body: { quantity: 4 } });
  const split = patch.length - 5;
  const [modified, cancelled] = await pipeline([patch.slice(0, split), 50, patch.slice(split) + text({ method: 'DELETE', path: `/v1/orders/${id}`, key: 'M1' })], 2);
  t.equal(modified.status, 200);
  t.match(cancelled.body.order, { status: 'cancelled', quantity: 4 });
  t.ok((modified.seq as number) < (cancelled.seq as number));
});

t.test('thirty mixed requests: answered in order, each applied after the one before', async (t) => {
  const ids = [await resting(t, '55.10'), await resting(t, '55.11'), await resting(t, '55.12'), await resting(t, '55.13'), await resting(t, '55.14')];
  const sent: Sent[] = [];
  for (let i = 0; i < 30; i++) {
    if (i % 6 === 5) sent.push({ method: 'DELETE', path: `/v1/orders/${ids[(i - 5) / 6]}`, key: 'M1' });
    else sent.push({ method: 'POST', path: '/v1/orders', key: i % 2 === 0 ? 'M1' : 'M2', body: i % 2 === 0
      ? { accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '55.00', quantity: 1 + i }
      : { accountId: 'M2-C1', symbol: 'CEA24', side: 'sell', type: 'limit', price: '60.00', quantity: 1 + i } });
  }
  const answers = await pipeline([sent.map(text).join('')], sent.length);
  t.same(answers.map((a) => a.status), sent.map((r) => (r.method === 'DELETE' ? 200 : 201)), 'every one taken');
  const seqs = answers.map((a) => a.seq as number);
  t.same(seqs, seqs.map((_, i) => seqs[0] + i), 'one seq after another, in the order sent');
  t.same(answers.filter((_, i) => i % 6 !== 5).map((a) => a.body.order.quantity), sent.filter((_, i) => i % 6 !== 5).map((r) => (r.body as { quantity: number }).quantity), 'each answer is its own request\'s');
});

t.test('a refusal among them holds nothing up; a read after a write shows it', async (t) => {
  const id = await resting(t, '55.20');
  const answers = await pipeline([[
    text({ method: 'POST', path: '/v1/orders', key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '55.00', quantity: -1 } }),
    text({ method: 'POST', path: '/v1/orders', key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '55.21', quantity: 3, clientOrderId: 'piped-read' } }),
    text({ method: 'GET', path: '/v1/orders?status=open&symbol=CEA24', key: 'M1' }),
    text({ method: 'DELETE', path: `/v1/orders/${id}`, key: 'M1' }),
    text({ method: 'GET', path: `/v1/orders/${id}`, key: 'M1' }),
  ].join('')], 5);
  t.same(answers.map((a) => a.status), [400, 201, 200, 200, 200], 'the refusal, then the rest');
  t.ok((answers[0].body.error?.code as string).length > 0, 'the refusal has its code');
  const open = answers[2].body as { clientOrderId: string | null; orderId: string }[];
  t.ok(open.some((o) => o.clientOrderId === 'piped-read'), 'the read shows the order placed before it');
  t.ok(open.some((o) => o.orderId === id), 'and not the cancel sent after it');
  t.equal(answers[4].body.status, 'cancelled', 'the read after the cancel shows it');
});
