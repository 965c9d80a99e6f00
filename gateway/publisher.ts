// Market data and execution reports over WebSocket (API.md "WebSocket"), built from committed
// batches only. Each channel has one sequence; a message is serialised once and the same text goes
// to every subscriber, so seq rises by exactly 1 per channel on every connection. The engine may
// already hold commands nobody has been answered about (later batches are applied while one is on
// its way to the disk), so a committed batch's book and ticker are read when it is sealed, and a
// snapshot is taken only once everything applied is committed.
// Writing: clients with the same subscriptions get the same bytes, so they form a group. Messages
// gather for a short window (flushMs; the first after a quiet spell goes at once); then each group's
// messages of the window are joined into one buffer, which is written to each of its clients: one
// write per client per window, whatever the number of messages.
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import {
  INTERVAL_NAMES, KLINE_INTERVALS, dayOfDate, divideHalfUp, formatMoney, isoTime, localMidnight, marketRow, type DepthLevel, type EngineEvent, type KlineInterval, type LargeHolderClosedEvent, type LargeHolderEvent, type TradeEvent, type AuctionBidEvent, type EndOfDayEvent, type InstrumentEvent,
} from '../engine/index.ts';
import type { Committed } from '../persistence/sequencer.ts';
import type { Gateway } from './http.ts';
import { klineView, publishedLargeHolders, publishesLargeHolders, tickerView } from './routes/market.ts';
import { blockView } from './routes/trading.ts';
import { auctionView, bidView } from './routes/auctions.ts';
import { warningView } from './replies.ts';
import { fillsOf, ofBid, statusAfterFill } from './history.ts';
import { fillView, noSuchInstrument, orderView, ownedBy, repeatedKeyFault } from './http.ts';
import { frameHeaderLength, textFrame } from './frames.ts';

const BOOK_LEVELS = 20;
const TICKER_MS = 100;
/** A client sending more messages than this in a second is closed (1008): each one costs the exchange's thread. */
const MESSAGES_PER_SECOND = 50;
/** Failed `auth` messages a connection may send before it is closed (1008): keys are not guessed here. */
const FAILED_AUTHS = 5;

export interface PublisherOptions {
  /** Close a client whose unsent data passes this many bytes. */
  maxBufferedBytes?: number;
  heartbeatMs?: number;
  /** At most one ticker update per symbol per this many milliseconds (default 100). */
  tickerMs?: number;
  /**
   * Writes to subscribers go out at most once per this many milliseconds (default 10): the first
   * message after a quiet spell at once, those that follow it within the window together at its end.
   * 0: at the end of each batch.
   */
  flushMs?: number;
  pingMs?: number;
  /** A client sending more messages than this within any one second is closed with 1008 (default 50). */
  messagesPerSecond?: number;
}

interface Client {
  queue: Promise<void>;
  ws: WebSocket;
  channels: Set<string>;
  member: string | null;
  alive: boolean;
  group: Group | null;
  /**
   * When its last messagesPerSecond messages came in (Date.now(), a ring; null until its first):
   * one more within a second of the oldest of them is one too many, in whatever second it falls.
   */
  arrivals: Float64Array | null;
  /** Messages received, over the connection's life (the ring's write position is this modulo its size). */
  messages: number;
  failedAuths: number;
  /** The seq of its last heartbeat: heartbeats are counted per connection, from 1, like every channel. */
  heartbeats: number;
  /**
   * Bytes of its latest snapshots it has not taken yet, which the bound on unsent data leaves out
   * (shrinking as it takes them): a snapshot larger than the bound (a member's thousands of open
   * orders) over a link slower than loopback would otherwise get it dropped on every subscription.
   * Only a subscription made with none left is granted one: snapshots asked for again and again
   * without being taken count.
   */
  allowance: number;
  /** At its last ping: bytes of what was written to it that the kernel had taken, and those of the write in flight it had not. */
  taken: number;
  inFlight: number;
  /** How many pings ago data last waited in the server when one was sent (behind what the kernel held): a ping it could not answer yet. */
  backlogAge: number;
  /** Ping intervals in a row, unanswered, in which the kernel took none of what was written to it. */
  idlePings: number;
}

/** A channel's subscribers are the clients of its groups. */
interface Channel { seq: number; groups: Set<Group> }

/** Clients subscribed to exactly the same channels (by key, so `orders` counts per member). */
interface Group { key: string; channels: Channel[]; clients: Set<Client>; out: Buffer[] }

type Side = Map<number, [number, number]>; // price → [quantity, orders]

/** An account's large-holder standing in an instrument as a batch left it (Engine.largeHolderStanding), keyed `account symbol`. */
type Standing = { accountId: string; symbol: string; now: ReturnType<Gateway['engine']['largeHolderStanding']> };

/** A ticker's figures, to tell whether they changed: the seq it stands at moves with every command on its symbol. */
const tickerText = (view: unknown): string => JSON.stringify(view, (key, value) => (key === 'exchangeSeq' ? undefined : value));

/** The top of book and ticker of the symbols a batch changed, and the large-holder standings it moved, as they stood when it was sealed. */
interface Sealed { lastSeq: number; books: Map<string, { bids: DepthLevel[]; asks: DepthLevel[] }>; tickers: Map<string, unknown>; largeHolders: Map<string, Standing> }

export class Publisher {
  private readonly channels = new Map<string, Channel>();
  private readonly clients = new Set<Client>();
  /** Committed top of book per symbol. */
  private readonly books = new Map<string, { bids: Side; asks: Side }>();
  /** An auction's trades of a committed batch until the bid event that follows each (their fills are told with the bid's ids). */
  private readonly auctionTrades = new Map<number, TradeEvent>();
  /** Per followed symbol: its ticker's state (TickerState). */
  private readonly tickers = new Map<string, TickerState>();
  /** The instrument events of the batch being published, by symbol: the bands a closed day's last ticker shows. */
  private readonly bandsInBatch = new Map<string, InstrumentEvent>();
  /** The closed day's last tickers an end of day in the batch being published made, by symbol. */
  private readonly dayEndTickers = new Map<string, unknown>();
  /** The tickers published in the window not written yet: written, they note when (flushNow). */
  private tickersInWindow: { sentAt: number }[] = [];
  /** Per kline channel: the bar last published as open, and the timer that announces its close. */
  private readonly openBars = new Map<string, { openTime: number; timer: NodeJS.Timeout | undefined }>();
  /**
   * The midnight of the trading day open as of the last committed batch: a bar that opened before
   * it is closed whatever the clock says, as its day's end has run and no trade can join it.
   */
  private openDayFrom: number;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly maxBuffered: number;
  private readonly groups = new Map<string, Group>();
  /** Per member, the JSON of its open orders as its `orders` snapshot shows them, until they change. */
  private readonly ordersSnapshots = new Map<string, string>();
  /** The window's messages, in the order published: each frame and its channel. */
  private pendingFrames: Buffer[] = [];
  private pendingChannels: Channel[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private lastFlush = 0;
  private readonly flushMs: number;
  private readonly tickerMs: number;
  private readonly messagesPerSecond: number;
  /** For each batch sealed and not yet committed, oldest first: what its book and ticker messages show. */
  private readonly sealed: Sealed[] = [];
  /**
   * The large holders the `warnings` channel has published and not taken back (`account symbol`),
   * kept equal to GET /v1/large-holders: an account that leaves that list without its obligation
   * ending (its report still owed, its holding back under the threshold in force) is said to have
   * `left`, and one that comes back onto it without a new alert is told again.
   */
  private readonly published = new Set<string>();

  constructor(private readonly g: Gateway, options: PublisherOptions = {}) {
    this.maxBuffered = options.maxBufferedBytes ?? 1 << 20;
    this.flushMs = options.flushMs ?? 10;
    this.tickerMs = options.tickerMs ?? TICKER_MS;
    this.messagesPerSecond = options.messagesPerSecond ?? MESSAGES_PER_SECOND;
    // Built at start, when everything the engine holds is committed.
    this.openDayFrom = localMidnight(g.engine.tradingDay);
    for (const h of publishedLargeHolders(g)) this.published.add(holderKey(h.accountId, h.symbol));
    g.sequencer.onSeal((batch) => this.onSealed(batch));
    this.timers.push(setInterval(() => this.heartbeat(), options.heartbeatMs ?? 10_000));
    this.timers.push(setInterval(() => this.ping(), options.pingMs ?? 15_000));
  }

  close(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    for (const t of this.timers) clearInterval(t);
    for (const t of this.tickers.values()) if (t.timer) clearTimeout(t.timer);
    for (const b of this.openBars.values()) clearTimeout(b.timer);
    for (const c of this.clients) c.ws.terminate();
  }

  /** Closes every connection with 1001 "going away" and a reason: the client knows to reconnect and resubscribe. */
  goingAway(): void {
    this.flushNow();
    for (const c of this.clients) c.ws.close(1001, 'the exchange is shutting down');
  }

  // ---------------------------------------------------------------- connections

  attach(ws: WebSocket): void {
    const client: Client = { ws, channels: new Set(), member: null, alive: true, queue: Promise.resolve(), group: null, arrivals: null, messages: 0, failedAuths: 0, heartbeats: 0, allowance: 0, taken: 0, inFlight: 0, backlogAge: Infinity, idlePings: 0 };
    this.clients.add(client);
    this.g.metrics.wsClients = this.clients.size;
    this.regroup(client);
    ws.on('pong', () => { client.alive = true; });
    ws.on('message', (data, isBinary) => this.onMessage(client, isBinary ? null : data.toString()));
    ws.on('close', () => this.detach(client));
    ws.on('error', () => this.detach(client));
  }

  private detach(client: Client): void {
    if (!this.clients.delete(client)) return;
    this.leaveGroup(client);
    this.g.metrics.wsClients = this.clients.size;
  }

  /** Puts a client in the group of its current subscriptions (after they changed). */
  private regroup(client: Client): void {
    const keys = [...client.channels].map((name) => this.key(client, name)).sort();
    const key = keys.join('\n');
    if (client.group?.key === key) return;
    this.leaveGroup(client);
    let group = this.groups.get(key);
    if (group === undefined) {
      group = { key, channels: keys.map((k) => this.channel(k)), clients: new Set(), out: [] };
      for (const ch of group.channels) ch.groups.add(group);
      this.groups.set(key, group);
    }
    group.clients.add(client);
    client.group = group;
  }

  private leaveGroup(client: Client): void {
    const group = client.group;
    if (group === null) return;
    client.group = null;
    group.clients.delete(client);
    if (group.clients.size > 0) return;
    this.groups.delete(group.key);
    for (const ch of group.channels) ch.groups.delete(group);
  }

  /**
   * Every connection's heartbeat, after what was published before it. Each has its own seq (a
   * connection opened a minute ago starts at 1, not at the exchange's count), so it is sent to each
   * client rather than framed once: one short message per client every 10 s.
   */
  private heartbeat(): void {
    this.flushNow();
    const time = isoTime(this.g.sequencer.now());
    for (const c of this.clients) this.send(c, `{"channel":"heartbeat","type":"heartbeat","seq":${++c.heartbeats},"time":"${time}"}`);
  }

  /**
   * A client that has not answered the last ping is ended as dead, unless one of the last three pings
   * had data waiting ahead of it in the server (a large snapshot, say), and the kernel has taken more
   * of what was written to the client within the last three ping intervals: it cannot answer a ping
   * it has not received yet, and a peer that is gone takes nothing (its kernel's buffer, once full,
   * stays full). Pings after the backlog cleared count for two more because what the kernel itself
   * holds ahead of a ping (megabytes, on a fast link) still has to reach the client; three intervals
   * rather than one because the kernel takes a slow reader's data in steps of about a third of its
   * send buffer, seconds apart. A peer gone with data waiting for it is ended three pings later.
   */
  private ping(): void {
    for (const c of this.clients) {
      const socket = (c.ws as unknown as { _socket?: Socket })._socket;
      if (!c.alive) {
        c.idlePings = socket !== undefined && this.tookMore(c, socket) ? 0 : c.idlePings + 1;
        if (!(c.backlogAge < 3 && c.idlePings < 3)) { c.ws.terminate(); this.detach(c); continue; }
      } else c.idlePings = 0;
      c.alive = false;
      c.ws.ping();
      if (socket !== undefined) this.markPing(c, socket);
    }
  }

  private markPing(c: Client, socket: Socket): void {
    [c.taken, c.inFlight] = sendProgress(socket);
    c.backlogAge = socket.writableLength > 0 ? 0 : c.backlogAge + 1;
  }

  private tookMore(c: Client, socket: Socket): boolean {
    const [taken, inFlight] = sendProgress(socket);
    return taken > c.taken || (taken === c.taken && inFlight < c.inFlight);
  }

  /** An answer to the client alone: what was published before it goes out first. */
  private reply(client: Client, message: unknown): void {
    this.flushNow();
    this.send(client, JSON.stringify(message));
  }

  /** Sends unless the client has fallen too far behind; then it is dropped with a close code. */
  private send(client: Client, text: string): void {
    if (client.ws.readyState !== 1) return;
    if (this.behind(client)) return this.drop(client);
    client.ws.send(text);
    this.g.metrics.wsMessages++;
  }

  /** Whether the client's unsent data, its snapshots' allowance left out, is past the bound. */
  private behind(client: Client): boolean {
    const buffered = client.ws.bufferedAmount;
    if (client.allowance > buffered) client.allowance = buffered; // what it has taken of them
    return buffered - client.allowance > this.maxBuffered;
  }

  /**
   * A refusal to the client alone. Unlike reply() it does not first flush the window to every
   * subscriber (it has no seq and changes nothing), so bad messages cannot make the exchange write
   * early to everyone.
   */
  private refuse(client: Client, code: string, message: string): void {
    this.send(client, JSON.stringify({ type: 'error', code, message }));
  }

  /** A client's messages are handled one after another, in the order they came. */
  private onMessage(client: Client, text: string | null): void {
    if (client.messages < 0) return; // closed for a flood: what still comes in is dropped
    const now = Date.now();
    const limit = this.messagesPerSecond;
    const ring = client.arrivals ?? (client.arrivals = new Float64Array(limit));
    const slot = client.messages % limit;
    // The slot holds the arrival `limit` messages back: this one makes one too many within a second.
    if (client.messages >= limit && now - ring[slot] < 1000) {
      // The messages taken before it are answered first: the close follows them, as their answers were owed.
      client.messages = -1;
      const close = () => client.ws.close(1008, `more than ${limit} messages a second`);
      client.queue = client.queue.then(close, close);
      return;
    }
    ring[slot] = now;
    client.messages++;
    client.queue = client.queue.then(() => this.handle(client, text));
  }

  private handle(client: Client, text: string | null): Promise<void> | void {
    if (text === null) return this.refuse(client, 'INVALID_REQUEST', 'messages are JSON text, not binary frames');
    let msg: { op?: unknown; channels?: unknown; key?: unknown };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      return this.refuse(client, 'INVALID_REQUEST', 'messages are JSON objects with an "op"');
    }
    if (msg === null || typeof msg !== 'object') return this.refuse(client, 'INVALID_REQUEST', 'messages are JSON objects with an "op"');
    const twice = repeatedKeyFault(text, msg, 'the message');
    if (twice !== null) return this.refuse(client, 'INVALID_REQUEST', twice);
    if (msg.op !== 'auth' && msg.op !== 'subscribe' && msg.op !== 'unsubscribe') {
      return this.refuse(client, 'INVALID_REQUEST', 'op must be subscribe, unsubscribe or auth');
    }
    // Nothing a client sends is silently ignored (an auth that also names channels subscribes to none).
    const takes = msg.op === 'auth' ? ['op', 'key'] : ['op', 'channels'];
    const extra = Object.keys(msg).find((k) => !takes.includes(k));
    if (extra !== undefined) {
      return this.refuse(client, 'INVALID_REQUEST', `${msg.op} takes ${takes.map((k) => `"${k}"`).join(' and ')}, not ${JSON.stringify(extra.slice(0, 64))}`);
    }
    if (msg.op === 'auth') {
      const p = typeof msg.key === 'string' ? this.g.keys.lookup(msg.key) : null;
      if (p === null || p.role !== 'member') {
        if (++client.failedAuths >= FAILED_AUTHS) {
          client.ws.close(1008, `${FAILED_AUTHS} failed auth messages`);
          return;
        }
        return this.refuse(client, 'UNAUTHENTICATED', 'auth takes a member API key');
      }
      // Another member's key: the old member's orders feed stops here, and the one answer says so
      // (one answer per request, so that a client can pair them).
      const dropped = client.member !== null && client.member !== p.member && client.channels.delete('orders');
      if (dropped) {
        this.flushNow();
        this.regroup(client);
      }
      client.member = p.member as string;
      return this.reply(client, dropped ? { type: 'authenticated', member: client.member, unsubscribed: ['orders'] } : { type: 'authenticated', member: client.member });
    }
    if (!Array.isArray(msg.channels) || msg.channels.length === 0 || msg.channels.length > 100 || !msg.channels.every((c) => typeof c === 'string' && c.length <= 64)) {
      return this.refuse(client, 'INVALID_REQUEST', 'channels must be a list of 1–100 channel names, each a text of at most 64 characters (such as "book:CEA24")');
    }
    // A name given twice is one subscription: answered, and snapshotted, once.
    const names = [...new Set(msg.channels as string[])];
    for (const name of names) {
      // Leaving `orders` needs no key: without one it is not followed, which the check below says.
      const problem = msg.op === 'unsubscribe' && name === 'orders' ? null : this.check(client, name);
      if (problem !== null) return this.refuse(client, problem[0], problem[1]);
    }
    if (msg.op === 'unsubscribe') {
      // A channel it does not follow (a typo for one it does, say) is an error, not a success.
      const missing = names.filter((name) => !client.channels.has(name));
      if (missing.length > 0) {
        return this.refuse(client, 'NOT_SUBSCRIBED', `this connection does not follow ${missing.join(', ')}: nothing was unsubscribed`);
      }
      // What was published while it was subscribed still reaches it; nothing after.
      this.flushNow();
      for (const name of names) client.channels.delete(name);
      this.regroup(client);
      return this.reply(client, { type: 'unsubscribed', channels: names });
    }
    this.reply(client, { type: 'subscribed', channels: names });
    // A snapshot shows committed state only: it waits until everything applied so far is committed
    // (and published), so that the updates after it follow on from it exactly.
    return this.g.sequencer.committed().then(() => {
      // Messages of the window so far were published before the snapshots: they go out first, and
      // only to the client's old subscriptions.
      this.flushNow();
      // The snapshots are left out of the bound on unsent data while it takes them, unless it has
      // not yet taken those of its previous subscription.
      const granted = client.allowance === 0;
      for (const name of names) {
        if (client.channels.has(name) || !this.clients.has(client)) continue;
        client.channels.add(name);
        const ch = this.channel(this.key(client, name));
        const before = client.ws.bufferedAmount;
        if (name === 'orders') this.sendOrdersSnapshot(client, ch.seq);
        else {
          const snapshot = this.snapshotOf(name, client);
          // The first subscriber's ticker snapshot is what the channel's next update is compared with.
          // A held-back update armed for earlier subscribers is replaced by it too: sent when its
          // timer fires, it would show an older ticker than this snapshot does.
          if (ch.groups.size === 0 && name.startsWith('ticker:')) {
            const state = this.tickerState(name.slice(7));
            state.view = snapshot?.ticker;
            state.sent = tickerText(state.view);
          }
          if (snapshot !== null) this.reply(client, { channel: name, type: 'snapshot', seq: ch.seq, ...snapshot });
        }
        if (granted) client.allowance += Math.max(0, client.ws.bufferedAmount - before);
      }
      // Only now does it join the channels' groups: nothing published before its snapshots reaches it.
      if (this.clients.has(client)) this.regroup(client);
    });
  }

  /** A channel name's problem, or null: book:SYM trades:SYM blocks:SYM ticker:SYM kline:SYM:INTERVAL warnings orders. */
  private check(client: Client, name: string): [string, string] | null {
    if (name === 'orders') return client.member === null ? ['UNAUTHENTICATED', 'send {"op":"auth","key":"..."} before subscribing to orders'] : null;
    if (name === 'warnings') return null;
    const [kind, symbol, interval, ...rest] = name.split(':');
    const known = ['book', 'trades', 'blocks', 'auctions', 'ticker', 'kline'].includes(kind) && symbol !== undefined && symbol !== '' && rest.length === 0
      && (kind === 'kline' ? INTERVAL_NAMES.includes(interval as KlineInterval) : interval === undefined);
    if (!known) return ['UNKNOWN_CHANNEL', `no channel ${name}: use book:SYM, trades:SYM, blocks:SYM, auctions:SYM, ticker:SYM, kline:SYM:1m|5m|15m|1h|1d, warnings or orders`];
    if (this.g.engine.instrument(symbol) === undefined) {
      // Symbols are capitals (REST refuses others by its schema): a listed one in lower case is named.
      const upper = symbol.toUpperCase();
      const hint = upper !== symbol && this.g.engine.instrument(upper) !== undefined ? ` (symbols are in capitals: ${upper})` : '';
      return ['UNKNOWN_INSTRUMENT', noSuchInstrument(symbol) + hint];
    }
    return null;
  }

  /** The private orders channel is one per member; the others are shared. */
  private key(client: Client, name: string): string {
    return name === 'orders' ? `orders:${client.member}` : name;
  }

  private channel(key: string): Channel {
    let ch = this.channels.get(key);
    if (ch === undefined) { ch = { seq: 0, groups: new Set() }; this.channels.set(key, ch); }
    return ch;
  }

  /**
   * The `orders` snapshot: the member's open orders, the open block proposals it is party to
   * (its own, and those naming one of its accounts), from which execution reports and block
   * messages continue, and its accounts' standing large-holder alerts. Their JSON is kept per member until a committed order, trade or block of
   * theirs changes them: thousands of open orders take tens of milliseconds of the exchange's thread
   * to read and serialise, which a member's connections subscribing again and again would otherwise
   * cost everyone.
   */
  private sendOrdersSnapshot(client: Client, seq: number): void {
    const member = client.member as string;
    let body = this.ordersSnapshots.get(member);
    if (body === undefined) {
      const open = this.g.history.ordersOf((id) => this.g.engine.order(id), this.g.engine.accountsOfMember(member), true); // in id order
      const ours = (accountId: string | null) => accountId !== null && this.memberOf(accountId) === member;
      const blocks = [...this.g.history.blocks.values()]
        .filter((b) => (b.status === 'proposed' || b.status === 'countered') && (ours(b.proposerAccountId) || ours(b.counterpartyAccountId)))
        .sort((a, b) => a.blockId - b.blockId);
      const h = this.g.history;
      const bids = [...h.auctionBids.values()].filter((b) => b.status === 'placed' && ours(b.accountId)).sort((x, y) => x.bidId - y.bidId);
      const auctions = [...h.auctions.values()].filter((a) => a.status === 'opened' && ours(a.accountId)).sort((x, y) => x.auctionId - y.auctionId)
        .map((a) => auctionView(a, true));
      body = `"orders":${JSON.stringify(open.map(orderView))},"blocks":${JSON.stringify(blocks.map((b) => blockView(b, ours)))},"bids":${JSON.stringify(bids.map(bidView))},"auctions":${JSON.stringify(auctions)}`;
      this.ordersSnapshots.set(member, body);
    }
    // Its accounts' standing large-holder alerts, read afresh (a deposit or the end of day changes
    // them without an order event): the member's few accounts, however many orders they hold.
    const largeHolders = JSON.stringify(this.g.engine.largeHoldersOfMember(member));
    this.flushNow();
    this.send(client, `{"channel":"orders","type":"snapshot","seq":${seq},${body},"largeHolders":${largeHolders}}`);
  }

  /** A committed event changed the open orders of an account: its member's kept `orders` snapshot is dropped. */
  private ordersChanged(accountId: string | null): void {
    if (this.ordersSnapshots.size === 0 || accountId === null) return;
    const member = this.memberOf(accountId);
    if (member !== undefined) this.ordersSnapshots.delete(member);
  }

  private snapshotOf(name: string, client: Client): Record<string, unknown> | null {
    if (name === 'warnings') {
      // The day's warnings, and the large holders of the venues that publish them.
      return { warnings: this.g.history.warnings.map(warningView), largeHolders: publishedLargeHolders(this.g) };
    }
    const [kind, symbol, interval] = name.split(':');
    if (kind === 'book') {
      // Everything applied is committed when a channel is subscribed: the book is the journal's at its last seq.
      const b = this.refreshBook(symbol);
      return { exchangeSeq: this.g.engine.lastSequence, bids: levels(b.bids, true), asks: levels(b.asks, false) };
    }
    if (kind === 'ticker') return { ticker: tickerView(this.g.engine.ticker(symbol)!) };
    if (kind === 'kline') {
      // The bar's close is announced when its time is up for a subscriber who came after its first
      // trade too (the timer is otherwise armed by a trade); `closed` says whether it already is.
      const bars = this.g.history.klines.get(symbol, interval as KlineInterval, 1);
      const bar = bars[bars.length - 1];
      const closed = bar !== undefined && this.isClosed(bar.openTime, interval as KlineInterval);
      const armed = this.openBars.get(name);
      if (bar !== undefined && !closed && armed?.openTime !== bar.openTime) {
        if (armed !== undefined) clearTimeout(armed.timer);
        this.armClose(name, symbol, interval as KlineInterval, bar.openTime);
      }
      return { bars: bars.map(klineView), closed };
    }
    if (kind === 'auctions') {
      const h = this.g.history;
      const today = [...h.auctions.values()].filter((a) => a.symbol === symbol).sort((x, y) => x.auctionId - y.auctionId);
      return { auctions: today.map((a) => auctionView(a)) };
    }
    if (kind === 'trades' || kind === 'blocks') {
      return { trades: this.g.history.recentTrades(symbol, 50, kind === 'blocks' ? 'block' : 'listed').map(tradeView) };
    }
    return null;
  }

  // ---------------------------------------------------------------- publishing

  /**
   * One message on one channel: built only when someone listens, serialised and framed once, and
   * kept for the window's flush.
   */
  private publish(key: string, type: string, build: () => Record<string, unknown>, channelName = key): void {
    const ch = this.channels.get(key);
    if (ch === undefined || ch.groups.size === 0) return;
    ch.seq++;
    this.pendingFrames.push(textFrame(JSON.stringify({ channel: channelName, type, seq: ch.seq, ...build() })));
    this.pendingChannels.push(ch);
  }

  private drop(client: Client): void {
    this.g.metrics.wsDropped++;
    client.ws.close(4008, 'too slow: resubscribe for a fresh snapshot');
    this.detach(client);
  }

  /** Flushes now, or at the end of the current window if the last flush was less than flushMs ago. */
  private scheduleFlush(): void {
    if (this.flushTimer !== null || this.pendingFrames.length === 0) return;
    const wait = this.lastFlush + this.flushMs - performance.now();
    if (wait <= 0) this.flushNow();
    else this.flushTimer = setTimeout(() => this.flushNow(), wait);
  }

  /**
   * Sends the window's messages: for each group, those on its channels joined into one buffer, and
   * that buffer written to each client of the group. A client whose earlier data still waits past
   * the bound is dropped instead: what it has not taken decides, not the size of this window.
   */
  private flushNow(): void {
    if (this.flushTimer !== null) { clearTimeout(this.flushTimer); this.flushTimer = null; }
    this.lastFlush = performance.now();
    const frames = this.pendingFrames;
    const channels = this.pendingChannels;
    if (frames.length === 0) return;
    if (this.tickersInWindow.length > 0) {
      for (const t of this.tickersInWindow) t.sentAt = this.lastFlush;
      this.tickersInWindow = [];
    }
    this.pendingFrames = [];
    this.pendingChannels = [];
    // Each frame to the groups of its channel, in order: the work is one step per frame and group
    // that gets it, however many groups there are.
    const touched: Group[] = [];
    for (let i = 0; i < frames.length; i++) {
      for (const group of channels[i].groups) {
        if (group.out.length === 0) touched.push(group);
        group.out.push(frames[i]);
      }
    }
    for (const group of touched) {
      const mine = group.out;
      group.out = [];
      const bytes = mine.length === 1 ? mine[0] : Buffer.concat(mine);
      for (const client of group.clients) {
        if (client.ws.readyState !== 1) continue;
        if (this.behind(client)) { this.drop(client); continue; }
        const socket = (client.ws as unknown as { _socket?: Socket })._socket;
        if (socket === undefined) for (const f of mine) client.ws.send(f.subarray(frameHeaderLength(f)));
        else socket.write(bytes);
        this.g.metrics.wsMessages += mine.length;
      }
    }
  }

  /**
   * A batch sealed for the disk: the engine's state is exactly the state after it, which it may no
   * longer be when the batch has committed (later batches are applied meanwhile). The top of book
   * and the ticker of each symbol it changed that somebody follows are read now, and published when
   * it commits. (Subscribing waits until everything applied is committed, so nobody starts
   * following a symbol between a batch's seal and its commit.)
   */
  private onSealed(batch: readonly Committed[]): void {
    if (batch.length === 0) return;
    const sealed: Sealed = { lastSeq: batch[batch.length - 1].command.seq, books: new Map(), tickers: new Map(), largeHolders: new Map() };
    const touched = new Set<string>();
    for (const { result } of batch) {
      if (!result.ok) continue;
      for (const e of result.events) {
        this.touches(e, touched);
        this.holdingsTouched(e, sealed.largeHolders);
      }
    }
    for (const st of sealed.largeHolders.values()) st.now = this.g.engine.largeHolderStanding(st.accountId, st.symbol);
    for (const symbol of touched) {
      if (this.listened(`book:${symbol}`)) sealed.books.set(symbol, this.g.engine.depth(symbol, BOOK_LEVELS)!);
      if (this.listened(`ticker:${symbol}`)) sealed.tickers.set(symbol, tickerView(this.g.engine.ticker(symbol)!));
    }
    this.sealed.push(sealed);
  }

  /**
   * Notes the accounts and instruments of a venue that publishes its large holders whose holding,
   * threshold or report obligation an event changed (a threshold set for a class: every account
   * with an obligation or published there).
   */
  private holdingsTouched(e: EngineEvent, out: Map<string, Standing>): void {
    const note = (accountId: string, symbol: string) => {
      if (publishesLargeHolders(this.g, symbol)) out.set(holderKey(accountId, symbol), { accountId, symbol, now: null });
    };
    if (e.type === 'trade') {
      note(e.buyAccountId, e.symbol);
      note(e.sellAccountId, e.symbol);
    } else if (e.type === 'account' && e.symbol !== null) note(e.accountId, e.symbol);
    // An allocation changed moves the thresholds that add it, in every instrument.
    else if (e.type === 'account' && e.change === 'updated') for (const inst of this.g.engine.instruments) note(e.accountId, inst.symbol);
    else if (e.type === 'largeHolder' || e.type === 'largeHolderClosed') note(e.accountId, e.symbol);
    else if (e.type === 'limit' && e.kind === 'largeHolderThreshold') {
      if (e.accountId !== null) note(e.accountId, e.symbol);
      else if (publishesLargeHolders(this.g, e.symbol)) {
        for (const h of this.g.engine.largeHolders(e.symbol)) note(h.accountId, h.symbol);
        for (const key of this.published) if (key.endsWith(` ${e.symbol}`)) note(key.slice(0, key.indexOf(' ')), e.symbol);
      }
    }
  }

  /** Notes the symbols whose book or ticker an event changed. */
  private touches(e: EngineEvent, touched: Set<string>): void {
    if (e.type === 'trade' || e.type === 'order') touched.add(e.symbol);
    else if (e.type === 'instrument' || e.type === 'market' || e.type === 'endOfDay') for (const inst of this.g.engine.instruments) touched.add(inst.symbol);
  }

  /**
   * A committed batch: its messages, and the book and ticker as they stood after it (read when it
   * was sealed, never from the engine now, which may already hold commands not yet committed).
   * `closedDays`: the symbols whose 1d bar took the official close at a day's end in this batch.
   */
  onCommitted(batch: readonly Committed[], closedDays: readonly string[] = []): void {
    if (batch.length === 0) return;
    const lastSeq = batch[batch.length - 1].command.seq;
    while (this.sealed.length > 0 && this.sealed[0].lastSeq < lastSeq) this.sealed.shift();
    const sealed = this.sealed.length > 0 && this.sealed[0].lastSeq === lastSeq ? this.sealed.shift() : undefined;
    const traded = new Set<string>();
    this.bandsInBatch.clear();
    for (const { command, result } of batch) {
      if (!result.ok) {
        // A member's order the engine refused: a rejected execution report to that member.
        // Not a reused clientOrderId: it names an order of its own, which a report in that name
        // would show as rejected.
        if (command.type === 'placeOrder' && command.actor.role === 'member' && result.code !== 'CLIENT_ORDER_ID_REUSED') this.rejected(command, result);
        continue;
      }
      for (const e of result.events) this.event(e, traded);
    }
    if (sealed !== undefined) this.largeHoldersMoved(sealed.largeHolders, batch[batch.length - 1].command.time);
    for (const symbol of traded) this.klines(symbol);
    for (const symbol of closedDays) this.dayBar(symbol);
    if (sealed !== undefined) {
      for (const [symbol, depth] of sealed.books) if (this.listened(`book:${symbol}`)) this.bookUpdate(symbol, depth, lastSeq);
      // A closed day's last ticker goes first (when the interval allows); the next day's follows it after the interval.
      for (const [symbol, view] of this.dayEndTickers) this.tickerNow(symbol, view);
      this.dayEndTickers.clear();
      for (const [symbol, view] of sealed.tickers) if (this.listened(`ticker:${symbol}`)) this.tickerChanged(symbol, view);
    }
    this.scheduleFlush();
  }

  /** One event of a committed batch; notes the symbols whose K-lines it changed. */
  private event(e: EngineEvent, traded: Set<string>): void {
    switch (e.type) {
      case 'trade':
        this.ordersChanged(e.buyAccountId);
        this.ordersChanged(e.sellAccountId);
        this.publish(`${e.mode === 'listed' ? 'trades' : e.mode === 'block' ? 'blocks' : 'auctions'}:${e.symbol}`, 'trade', () => tradeView(e));
        // An auction trade's fills wait for the bid event that follows the trade, which names them.
        if (e.mode === 'auction') this.auctionTrades.set(e.tradeId, e);
        else this.executions(e);
        if (e.mode === 'listed') traded.add(e.symbol);
        break;
      case 'order':
        this.ordersChanged(e.accountId);
        this.toMember(e.accountId, () => ({ report: orderView(e) }));
        break;
      case 'block': {
        this.ordersChanged(e.proposerAccountId);
        this.ordersChanged(e.counterpartyAccountId);
        // Once to each member party to it (both sides may be accounts of the same member), each
        // told of a risk control only on its own account.
        const proposer = this.memberOf(e.proposerAccountId);
        const build = (accountId: string) => () => ({ block: blockView(e, ownedBy(this.g, this.memberOf(accountId) as string)) });
        this.toMember(e.proposerAccountId, build(e.proposerAccountId));
        const other = e.counterpartyAccountId;
        if (other !== null && this.memberOf(other) !== proposer) this.toMember(other, build(other));
        break;
      }
      case 'auction': {
        // Public on the instrument's auctions channel (never naming the initiator); to the initiator's member with its account.
        this.publish(`auctions:${e.symbol}`, 'auction', () => ({ auction: auctionView(e) }));
        this.ordersChanged(e.accountId);
        this.toMember(e.accountId, () => ({ auction: auctionView(e, true) }), 'auction');
        break;
      }
      case 'auctionBid': {
        const trade = e.tradeId === null ? undefined : this.auctionTrades.get(e.tradeId);
        if (trade !== undefined) {
          this.auctionTrades.delete(trade.tradeId);
          this.executions(trade, e);
        }
        // Sealed: only to the bidder's member.
        this.ordersChanged(e.accountId);
        this.toMember(e.accountId, () => ({ bid: bidView(e) }), 'bid');
        break;
      }
      case 'warning':
        this.publish('warnings', 'warning', () => ({ warning: warningView(e) }));
        break;
      case 'instrument':
        this.bandsInBatch.set(e.symbol, e);
        break;
      case 'endOfDay':
        this.closedDayTickers(e);
        this.openDayFrom = localMidnight(dayOfDate(e.nextDate)!);
        // The day's warnings no longer stand (a new subscriber's snapshot has none): said, with a
        // seq, so that a subscriber drops them as a late one never gets them.
        this.publish('warnings', 'endOfDay', () => ({ date: e.date, nextDate: e.nextDate }));
        // So do the day's auctions (a new subscriber's snapshot lists the next day's).
        for (const i of e.instruments) this.publish(`auctions:${i.symbol}`, 'endOfDay', () => ({ date: e.date, nextDate: e.nextDate }));
        break;
      case 'largeHolder': {
        // To the account's member (an alert opens a report obligation; filing closes it), and an
        // alert as a market notice where the venue publishes its large holders (MARKET-RULES 7).
        const build = () => ({ largeHolder: largeHolderView(e) });
        this.toMember(e.accountId, build, 'largeHolder');
        if (e.action === 'alert' && publishesLargeHolders(this.g, e.symbol)) {
          this.publish('warnings', 'largeHolder', build);
          this.published.add(holderKey(e.accountId, e.symbol));
        }
        break;
      }
      case 'largeHolderClosed': {
        // A filed report's obligation ended: said where its alert was, so that a follower of either
        // channel drops the account from its large holders.
        const build = () => ({ largeHolder: largeHolderView(e) });
        this.toMember(e.accountId, build, 'largeHolder');
        if (publishesLargeHolders(this.g, e.symbol)) {
          this.publish('warnings', 'largeHolder', build);
          this.published.delete(holderKey(e.accountId, e.symbol));
        }
        break;
      }
      default:
        break;
    }
  }

  /**
   * After a committed batch's own notices: the published large holders it moved on or off the list
   * of the moment without an alert or a closing of their own (a report still owed while the holding
   * fell back under the threshold in force, or rose past it again), told on `warnings` as `left`
   * and `alert`, so that its followers hold the list GET /v1/large-holders gives.
   */
  private largeHoldersMoved(standings: Map<string, Standing>, time: number): void {
    for (const [key, { accountId, symbol, now }] of standings) {
      const over = now !== null && now.over;
      if (over === this.published.has(key) || now === null) {
        if (now === null) this.published.delete(key); // no obligation: its closing (or none) was told
        continue;
      }
      if (over) this.published.add(key);
      else this.published.delete(key);
      this.publish('warnings', 'largeHolder', () => ({
        largeHolder: { accountId, symbol, action: over ? 'alert' : 'left', holding: now.holding, threshold: now.threshold, dueDate: now.dueDate, time: isoTime(time) },
      }));
    }
  }

  private rejected(c: Extract<Committed['command'], { type: 'placeOrder' }>, r: { code: string; message: string }): void {
    this.publish(`orders:${c.actor.id}`, 'execution', () => ({
      report: {
        orderId: null, clientOrderId: c.clientOrderId ?? null, accountId: c.accountId, symbol: c.symbol, side: c.side, type: c.orderType,
        // As the order would have stood: a limit order is DAY unless it says otherwise, the others IOC.
        timeInForce: c.timeInForce ?? (c.orderType === 'limit' ? 'DAY' : 'IOC'), price: typeof c.price === 'number' ? formatMoney(c.price) : null, quantity: c.quantity,
        filledQuantity: 0, remainingQuantity: 0, avgPrice: null,
        status: 'rejected', reason: r.code, message: r.message, time: isoTime(c.time),
      },
    }), 'orders');
  }

  private listened(key: string): boolean {
    return (this.channels.get(key)?.groups.size ?? 0) > 0;
  }

  /**
   * A trade's fills, each to its account's member; and to the resting order's member, that order's
   * execution report as the trade left it (filled and remaining quantity, average price, status),
   * as the taker gets its own after its fills.
   */
  private executions(t: TradeEvent, bid?: AuctionBidEvent): void {
    const maker = t.mode === 'listed' ? this.g.history.makerAfter(t) : undefined;
    const fills = fillsOf(t);
    if (bid !== undefined) ofBid(fills, bid);
    for (const f of fills) {
      this.toMember(f.accountId, () => ({
        // GET /v1/fills's record, and the order as the trade left it.
        fill: {
          ...fillView(f),
          remaining: f.side === 'buy' ? t.buyRemaining : t.sellRemaining,
          orderStatus: f.orderId === null ? null : statusAfterFill(f.side === 'buy' ? t.buyRemaining : t.sellRemaining),
        },
      }));
      if (maker !== undefined && f.orderId === maker.orderId) this.toMember(maker.accountId, () => ({ report: orderView(maker) }));
    }
  }

  private memberOf(accountId: string): string | undefined {
    return this.g.engine.account(accountId)?.member;
  }

  private toMember(accountId: string, build: () => Record<string, unknown>, type = 'execution'): void {
    const member = this.memberOf(accountId);
    if (member !== undefined) this.publish(`orders:${member}`, type, build, 'orders');
  }

  /**
   * Publishes the levels of a committed top of book that changed, and keeps it for snapshots.
   * `exchangeSeq`: the journal's seq the book stands at (the last command of its batch), as the REST book's `seq`.
   */
  private bookUpdate(symbol: string, depth: { bids: DepthLevel[]; asks: DepthLevel[] }, exchangeSeq: number): void {
    const before = this.books.get(symbol);
    const after = this.keepBook(symbol, depth);
    if (before === undefined) return;
    const bids = diff(before.bids, after.bids, true);
    const asks = diff(before.asks, after.asks, false);
    if (bids.length > 0 || asks.length > 0) this.publish(`book:${symbol}`, 'update', () => ({ exchangeSeq, bids, asks }));
  }

  /** The engine's top of book now, kept: only when everything applied is committed (a snapshot). */
  private refreshBook(symbol: string): { bids: Side; asks: Side } {
    return this.keepBook(symbol, this.g.engine.depth(symbol, BOOK_LEVELS)!);
  }

  private keepBook(symbol: string, d: { bids: DepthLevel[]; asks: DepthLevel[] }): { bids: Side; asks: Side } {
    const side = (levels: DepthLevel[]): Side => new Map(levels.map(([p, q, n]) => [p, [q, n]]));
    const book = { bids: side(d.bids), asks: side(d.asks) };
    this.books.set(symbol, book);
    return book;
  }

  private tickerState(symbol: string) {
    let t = this.tickers.get(symbol);
    if (t === undefined) { t = { view: null, final: null, sent: '', sentAt: 0, timer: null }; this.tickers.set(symbol, t); }
    return t;
  }

  /**
   * At most one ticker message per symbol every 100 ms, and only when it changed (its figures, not
   * only the seq it stands at); the last change is never lost. The 100 ms are counted from when the
   * last one was written to the sockets, not from when it was published into the write window: a
   * message that waited for its window's end would otherwise leave less than 100 ms before the next.
   */
  private tickerChanged(symbol: string, view: unknown): void {
    const t = this.tickerState(symbol);
    t.view = view;
    if (t.timer === null) this.tickerWhenDue(symbol, t);
  }

  /**
   * The closed day's last ticker of each instrument somebody follows, with the day's official figures
   * as the end of day took them (the market report's): its close, the change of the close, and the
   * trades the end of day itself made (auctions it allocated), which the next day's ticker, rolled
   * over at once, never shows. Its status and bands are those of the day's end: the last ticker's,
   * or those a risk officer's command set earlier in the same batch.
   */
  private closedDayTickers(e: EndOfDayEvent): void {
    for (const i of e.instruments) {
      if (!this.listened(`ticker:${i.symbol}`)) continue;
      const last = this.tickers.get(i.symbol)?.view as ReturnType<typeof tickerView> | null | undefined;
      if (last === undefined || last === null) continue;
      const changed = this.bandsInBatch.get(i.symbol);
      const r = marketRow(e.date, i);
      this.dayEndTickers.set(i.symbol, {
        symbol: i.symbol, date: e.date, exchangeSeq: e.seq, status: last.status, open: r.open, high: r.high, low: r.low, last: r.last,
        close: r.close, prevClose: r.prevClose, changePct: r.changePct,
        vwap: i.listedVolume === 0 ? null : formatMoney(divideHalfUp(i.listedTurnover, i.listedVolume)), average: r.average,
        listedVolume: i.listedVolume, listedTurnover: r.listedTurnover, blockVolume: i.blockVolume, blockTurnover: r.blockTurnover,
        auctionVolume: i.auctionVolume, auctionTurnover: r.auctionTurnover, volume: r.totalVolume, turnover: r.totalTurnover,
        cumulativeVolume: i.cumulativeVolume, cumulativeTurnover: r.cumulativeTurnover,
        bandLow: changed === undefined ? last.bandLow : formatMoney(changed.bandLow), bandHigh: changed === undefined ? last.bandHigh : formatMoney(changed.bandHigh),
      });
    }
  }

  /** Publishes a closed day's last ticker when the interval allows, before the next day's (which waits the interval after it). */
  private tickerNow(symbol: string, view: unknown): void {
    const t = this.tickerState(symbol);
    t.final = view;
    if (t.timer === null) this.tickerWhenDue(symbol, t);
  }

  /** Publishes the symbol's ticker once 100 ms have passed since the last was written (if it changed). */
  private tickerWhenDue(symbol: string, t: TickerState): void {
    // Published but not written yet: its window closes within flushMs (with nothing left to write,
    // it went to nobody, and the last window written stands for it).
    if (t.sentAt === Infinity && this.pendingFrames.length === 0) t.sentAt = this.lastFlush;
    const wait = t.sentAt === Infinity ? this.flushMs + 1 : t.sentAt + this.tickerMs - performance.now();
    if (wait > 0) {
      t.timer = setTimeout(() => {
        t.timer = null;
        this.tickerWhenDue(symbol, t);
      }, Math.ceil(wait));
      return;
    }
    const final = t.final;
    t.final = null;
    const view = final ?? t.view;
    const text = tickerText(view);
    if (text === t.sent) return;
    t.sent = text;
    t.sentAt = Infinity;
    this.tickersInWindow.push(t);
    this.publish(`ticker:${symbol}`, 'update', () => ({ ticker: view }));
    this.scheduleFlush();
    // After a closed day's last ticker, the next day's, once the interval has passed.
    if (final !== null) {
      t.timer = setTimeout(() => {
        t.timer = null;
        this.tickerWhenDue(symbol, t);
      }, this.tickerMs);
    }
  }

  /**
   * After a batch with listed trades: each interval's current bar, once. A bar is announced closed
   * when its time is up (on the exchange's clock), or when a trade has already opened the next one.
   */
  private klines(symbol: string): void {
    for (const interval of INTERVAL_NAMES) {
      const key = `kline:${symbol}:${interval}`;
      const open = this.openBars.get(key);
      if (!this.listened(key)) {
        if (open !== undefined) { clearTimeout(open.timer); this.openBars.delete(key); }
        continue;
      }
      const bars = this.g.history.klines.get(symbol, interval, 2);
      const current = bars[bars.length - 1];
      if (open !== undefined && open.openTime !== current.openTime) this.barClosed(key, symbol, interval, open.openTime);
      this.publish(key, 'update', () => ({ bar: klineView(current), closed: false }));
      if (this.openBars.get(key)?.openTime !== current.openTime) this.armClose(key, symbol, interval, current.openTime);
    }
  }

  /**
   * A day's end: the symbol's bars of that day are closed, as no trade can join them now. Each one
   * announced open is announced closed (once); the 1d bar, which took the official close, is sent
   * again, closed (midnight does not close it: see isClosed).
   */
  private dayBar(symbol: string): void {
    for (const interval of INTERVAL_NAMES) {
      const key = `kline:${symbol}:${interval}`;
      const open = this.openBars.get(key);
      if (interval !== '1d') {
        if (open !== undefined && open.openTime < this.openDayFrom) this.barClosed(key, symbol, interval, open.openTime);
        continue;
      }
      this.openBars.delete(key); // a day's bar has no timer (armClose)
      if (!this.listened(key)) continue;
      const bar = this.g.history.klines.get(symbol, '1d', 1)[0];
      if (bar !== undefined) this.publish(key, 'update', () => ({ bar: klineView(bar), closed: true }));
    }
  }

  /**
   * Whether a bar is closed: its day's end has run, or (below a day) its time is up on the
   * exchange's clock. A day's bar closes at its end of day only, with the official close: at
   * midnight its close is still the last trade's, and it would be announced closed twice.
   */
  private isClosed(openTime: number, interval: KlineInterval): boolean {
    return openTime < this.openDayFrom || (interval !== '1d' && this.g.sequencer.now() >= openTime + KLINE_INTERVALS[interval]);
  }

  /** Announces the bar's close when the exchange's clock reaches it (checked again when the timer fires); a day's bar waits for its end of day. */
  private armClose(key: string, symbol: string, interval: KlineInterval, openTime: number): void {
    if (interval === '1d') {
      this.openBars.set(key, { openTime, timer: undefined });
      return;
    }
    const closesAt = openTime + KLINE_INTERVALS[interval];
    const timer = setTimeout(() => {
      if (this.openBars.get(key)?.openTime !== openTime) return;
      if (!this.isClosed(openTime, interval)) return this.armClose(key, symbol, interval, openTime);
      // Its time is up, but a trade stamped in its last moments may still be on its way to the
      // disk: every command applied by now is, and those applied from now on are stamped after the
      // bar's end. Its close is announced once they are published, so that a bar announced closed
      // never changes again.
      void this.g.sequencer.durable(this.g.engine.lastSequence).then(() => {
        this.barClosed(key, symbol, interval, openTime);
        this.scheduleFlush();
      });
    // Checked at least every second: the exchange's clock is the one that counts, and it may be
    // set or stepped (a test's clock, a time correction) while the timer waits.
    }, Math.min(1000, Math.max(0, closesAt - this.g.sequencer.now())));
    timer.unref();
    this.openBars.set(key, { openTime, timer });
  }

  /** Publishes the bar that opened at `openTime` as closed (if anyone listens), once. */
  private barClosed(key: string, symbol: string, interval: KlineInterval, openTime: number): void {
    const open = this.openBars.get(key);
    if (open === undefined || open.openTime !== openTime) return;
    clearTimeout(open.timer);
    this.openBars.delete(key);
    const bar = this.g.history.klines.get(symbol, interval, 2).find((b) => b.openTime === openTime);
    if (bar !== undefined) this.publish(key, 'update', () => ({ bar: klineView(bar), closed: true }));
  }
}

/**
 * A followed ticker: the latest view, a closed day's last ticker still to send before it, the text
 * last sent (without its seq), when it was written (performance.now(); Infinity while its write
 * window is open) and the timer of the next.
 */
interface TickerState { view: unknown; final: unknown; sent: string; sentAt: number; timer: NodeJS.Timeout | null }

function levels(side: Side, bids: boolean): [string, number, number][] {
  return [...side.entries()].sort((a, b) => (bids ? b[0] - a[0] : a[0] - b[0])).map(([p, [q, n]]) => [formatMoney(p), q, n]);
}

/** Levels whose quantity or order count changed, with their absolute values; 0 removes a level. */
function diff(before: Side, after: Side, bids: boolean): [string, number, number][] {
  const out: [number, number, number][] = [];
  for (const [p, [q, n]] of after) {
    const old = before.get(p);
    if (old === undefined || old[0] !== q || old[1] !== n) out.push([p, q, n]);
  }
  for (const p of before.keys()) if (!after.has(p)) out.push([p, 0, 0]);
  return out.sort((a, b) => (bids ? b[0] - a[0] : a[0] - b[0])).map(([p, q, n]) => [formatMoney(p), q, n]);
}

/** An account's key in an instrument's published large holders (and the standings a batch moved). */
const holderKey = (accountId: string, symbol: string): string => `${accountId} ${symbol}`;

/** An alert, a filing or a closing as the `largeHolder` messages carry it. */
function largeHolderView(e: LargeHolderEvent | LargeHolderClosedEvent) {
  const action = e.type === 'largeHolderClosed' ? 'closed' : e.action;
  return { accountId: e.accountId, symbol: e.symbol, action, holding: e.holding, threshold: e.threshold, dueDate: e.dueDate, time: isoTime(e.time) };
}

function tradeView(t: TradeEvent) {
  return {
    tradeId: String(t.tradeId), symbol: t.symbol, mode: t.mode, price: formatMoney(t.price), quantity: t.quantity,
    aggressor: t.mode === 'listed' ? t.aggressor : null, time: isoTime(t.time),
  };
}

/**
 * How far the kernel has got with what was written to a socket: the bytes of the writes completed,
 * and the bytes libuv still holds of the write in flight (it writes a large one in parts).
 */
function sendProgress(socket: Socket): [taken: number, inFlight: number] {
  // A destroyed socket (no handle) has nothing in flight that could still move: as if nothing moved.
  const handle = (socket as unknown as { _handle?: { writeQueueSize?: number } | null })._handle;
  return [socket.bytesWritten - socket.writableLength, handle?.writeQueueSize ?? Infinity];
}
