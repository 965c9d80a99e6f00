// The market set-up the exchange loads on first start (markets/demo.json): which venue profiles, the
// listing price of every instrument, and the accounts with their opening cash and holdings. It is
// read and checked completely here, then turned into ordinary operator commands (listInstrument,
// createAccount, deposit) so that it goes through the engine, and the journal, like any other input.
// Every problem throws a SetupError "file: field: problem"; a bad venue profile throws the
// ProfileError of validateProfile, which names the profile's file and field the same way.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command, CommandBody } from './commands.ts';
export type { CommandBody, DistributiveOmit } from './commands.ts';
import type { Engine } from './engine.ts';
import { formatMoney, parseMoney } from './money.ts';
import { ACCOUNT_CLASSES, validateProfile, type AccountClass, type CompiledProfile, type VenueProfile } from './profile.ts';


export interface MarketSetup {
  /** The set-up file as it was given to loadMarkets. */
  file: string;
  /** The venue profiles in the order the set-up lists them, validated, with `allDay` applied. */
  profiles: VenueProfile[];
  /** The operator commands that build the market, in the order they must be applied. */
  commands: CommandBody[];
}

/** The demo set-up that ships with the exchange. */
export const DEMO_MARKETS_FILE = fileURLToPath(new URL('../markets/demo.json', import.meta.url));

export class SetupError extends Error {
  readonly file: string;
  readonly field: string;
  readonly problem: string;
  constructor(file: string, field: string, problem: string) {
    super(`${file}: ${field}: ${problem}`);
    this.name = 'SetupError';
    this.file = file;
    this.field = field;
    this.problem = problem;
  }
}

const SETUP_FIELDS = ['venues', 'allDay', 'instruments', 'accounts'];
const ACCOUNT_FIELDS = ['accountId', 'member', 'class', 'allocation', 'venues', 'cash', 'holdings'];
/** The engine's rule for account and member ids. */
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
/** Who the audit trail says ran the start-up set-up; no key may be named so (gateway/keys.ts). */
export const SETUP_ACTOR = { role: 'operator', id: 'setup' } as const;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** A UTF-8 file's text without the byte-order mark some editors write at its start: it is no part of the JSON (markets files, venue profiles, keys files). */
export const withoutBom = (text: string): string => (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);

/** Reads a file and parses it as JSON; a missing file or bad JSON is a SetupError naming the file. */
function readJson(file: string): unknown {
  let text: string;
  try {
    text = withoutBom(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new SetupError(file, '(file)', `cannot be read: ${messageOf(e)}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SetupError(file, '(file)', `is not valid JSON: ${messageOf(e)}`);
  }
}

/** The same profile with every mode open 00:00–24:00 on every day of the week, without holidays. */
function openAllDay(profile: VenueProfile): VenueProfile {
  const day = (): [string, string][] => [['00:00', '24:00']];
  return { ...profile, sessions: { listed: day(), block: day(), auction: day() }, tradingWeekdays: [1, 2, 3, 4, 5, 6, 7], holidays: [], calendarThrough: null };
}

/**
 * Reads a set-up file (the format of markets/demo.json), reads and validates every venue profile it
 * names (paths relative to the set-up file), checks the set-up itself and returns the commands
 * that build it: one listInstrument per instrument, then per account createAccount, a cash deposit
 * and one deposit per holding.
 */
export function loadMarkets(file: string): MarketSetup {
  const fail = (field: string, problem: string): never => { throw new SetupError(file, field, problem); };
  const raw = readJson(file);
  if (!isObject(raw)) fail('(setup)', 'must be a JSON object with the fields ' + SETUP_FIELDS.join(', '));
  const setup = raw as Record<string, unknown>;
  for (const key of Object.keys(setup)) {
    if (!SETUP_FIELDS.includes(key)) fail(key, `is not a set-up field (known: ${SETUP_FIELDS.join(', ')})`);
  }

  // ------------------------------------------------------------ venues
  if (!Array.isArray(setup.venues) || setup.venues.length === 0) {
    fail('venues', 'must be a non-empty array of venue profile paths, relative to this file');
  }
  if (setup.allDay !== undefined && typeof setup.allDay !== 'boolean') fail('allDay', 'must be true or false');
  const allDay = setup.allDay === true;

  const profiles: VenueProfile[] = [];
  const compiled: CompiledProfile[] = [];
  const venueIndex = new Map<string, number>(); // venue code → index in profiles
  const instrumentVenue = new Map<string, number>(); // symbol → index in profiles
  const paths: string[] = [];
  (setup.venues as unknown[]).forEach((entry, i) => {
    const field = `venues[${i}]`;
    if (typeof entry !== 'string' || entry.length === 0) fail(field, 'must be a path to a venue profile, such as "venues/cea.json"');
    const path = isAbsolute(entry as string) ? (entry as string) : join(dirname(file), entry as string);
    const earlier = paths.indexOf(path);
    if (earlier >= 0) fail(field, `lists ${entry} a second time (also venues[${earlier}])`);
    paths.push(path);
    let text: string;
    try {
      text = withoutBom(readFileSync(path, 'utf8'));
    } catch (e) {
      return fail(field, `cannot read the venue profile ${path}: ${messageOf(e)}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new SetupError(path, '(file)', `is not valid JSON (venue profile ${field} of ${file}): ${messageOf(e)}`);
    }
    const source = validateProfile(json, path, true).source; // throws ProfileError naming the file and field
    const profile = allDay ? openAllDay(source) : source;
    const venue = profile.venue;
    if (venueIndex.has(venue)) {
      fail(field, `${path} defines venue ${venue}, which ${paths[venueIndex.get(venue) as number]} defines already`);
    }
    for (const inst of profile.instruments) {
      const other = instrumentVenue.get(inst.symbol);
      if (other !== undefined) fail(field, `${path} lists instrument ${inst.symbol}, which venue ${profiles[other].venue} lists already`);
    }
    // Checked again as the engine will see it (allDay changes the sessions and the calendar).
    const c = validateProfile(profile, `${path} (as loaded${allDay ? ', allDay' : ''})`, true);
    venueIndex.set(venue, profiles.length);
    for (const inst of profile.instruments) instrumentVenue.set(inst.symbol, profiles.length);
    profiles.push(profile);
    compiled.push(c);
  });
  const symbols = [...instrumentVenue.keys()];
  const venues = [...venueIndex.keys()];

  // ------------------------------------------------------------ instruments and listing prices
  if (!isObject(setup.instruments)) fail('instruments', 'must be an object of listing prices by symbol, such as { "CEA24": "57.46" }');
  const prices = setup.instruments as Record<string, unknown>;
  const listingPrice = new Map<string, number>();
  for (const [symbol, value] of Object.entries(prices)) {
    const field = `instruments.${symbol}`;
    const v = instrumentVenue.get(symbol);
    if (v === undefined) fail(field, `is not an instrument of any venue of the set-up (known: ${symbols.join(', ')})`);
    const price = typeof value === 'string' ? parseMoney(value) : null;
    if (price === null || price <= 0) {
      fail(field, `must be a listing price above 0 as a decimal string with at most two decimals, such as "57.46", not ${JSON.stringify(value)}`);
    }
    const tick = compiled[v as number].tick;
    if ((price as number) % tick !== 0) fail(field, `${value} is not a multiple of the tick ${formatMoney(tick)} of venue ${profiles[v as number].venue}`);
    listingPrice.set(symbol, price as number);
  }
  for (const symbol of symbols) {
    if (!listingPrice.has(symbol)) {
      fail(`instruments.${symbol}`, `is missing: every instrument of every venue needs a listing price (${symbol} is an instrument of venue ${profiles[instrumentVenue.get(symbol) as number].venue})`);
    }
  }

  const commands: CommandBody[] = [];
  for (const profile of profiles) {
    for (const inst of profile.instruments) {
      commands.push({
        type: 'listInstrument', symbol: inst.symbol, name: inst.name, vintage: inst.vintage, profile,
        listingPrice: listingPrice.get(inst.symbol) as number,
      });
    }
  }

  // ------------------------------------------------------------ accounts
  if (setup.accounts !== undefined && !Array.isArray(setup.accounts)) fail('accounts', 'must be an array of accounts');
  const accounts = (setup.accounts ?? []) as unknown[];
  const accountIndex = new Map<string, number>();
  accounts.forEach((value, i) => {
    const at = `accounts[${i}]`;
    if (!isObject(value)) fail(at, 'must be an object with ' + ACCOUNT_FIELDS.join(', '));
    const a = value as Record<string, unknown>;
    for (const key of Object.keys(a)) {
      if (!ACCOUNT_FIELDS.includes(key)) fail(`${at}.${key}`, `is not an account field (known: ${ACCOUNT_FIELDS.join(', ')})`);
    }
    const accountId = a.accountId;
    if (typeof accountId !== 'string' || !ID_RE.test(accountId)) {
      fail(`${at}.accountId`, 'must be 1–32 letters, digits, dots, dashes or underscores, starting with a letter or digit');
    }
    const id = accountId as string;
    const twin = accountIndex.get(id);
    if (twin !== undefined) fail(`${at}.accountId`, `${id} is used already by accounts[${twin}]`);
    accountIndex.set(id, i);
    const member = a.member;
    if (typeof member !== 'string' || !ID_RE.test(member)) fail(`${at}.member`, 'must be a member id: 1–32 letters, digits, dots, dashes or underscores');
    if (!id.startsWith(`${member}-`)) fail(`${at}.accountId`, `${id} must start with its member's id and a dash, "${member}-"`);
    const accountClass = a.class as AccountClass;
    if (!ACCOUNT_CLASSES.includes(accountClass)) fail(`${at}.class`, `must be one of ${ACCOUNT_CLASSES.join(', ')}, not ${JSON.stringify(a.class)}`);

    let allocation = 0;
    if (accountClass === 'compliance') {
      if (!Number.isSafeInteger(a.allocation) || (a.allocation as number) < 0) {
        fail(`${at}.allocation`, 'a compliance account needs its annual allocation, a whole number of tonnes (0 or more)');
      }
      allocation = a.allocation as number;
    } else if (a.allocation !== undefined && a.allocation !== null && a.allocation !== 0) {
      fail(`${at}.allocation`, `only compliance accounts have an allocation; ${id} is ${accountClass}`);
    }

    let admitted: string[] | null = null;
    if (a.venues !== undefined && a.venues !== null) {
      if (!Array.isArray(a.venues) || a.venues.length === 0) fail(`${at}.venues`, 'must be null (every venue that admits the class) or a non-empty array of venue codes');
      (a.venues as unknown[]).forEach((v, j) => {
        if (typeof v !== 'string' || !venueIndex.has(v)) fail(`${at}.venues[${j}]`, `${JSON.stringify(v)} is not a venue of the set-up (known: ${venues.join(', ')})`);
        if ((a.venues as unknown[]).indexOf(v) !== j) fail(`${at}.venues[${j}]`, `lists ${v} twice`);
      });
      admitted = a.venues as string[];
    }

    let cash = 0;
    if (a.cash !== undefined) {
      const parsed = typeof a.cash === 'string' ? parseMoney(a.cash) : null;
      if (parsed === null) fail(`${at}.cash`, `must be an amount in CNY as a decimal string with at most two decimals, such as "50000000.00", not ${JSON.stringify(a.cash)}`);
      cash = parsed as number;
    }

    const holdings: [string, number][] = [];
    if (a.holdings !== undefined) {
      if (!isObject(a.holdings)) fail(`${at}.holdings`, 'must be an object of tonnes by symbol, such as { "CEA24": 300000 }');
      for (const [symbol, quantity] of Object.entries(a.holdings as Record<string, unknown>)) {
        const field = `${at}.holdings.${symbol}`;
        const v = instrumentVenue.get(symbol);
        if (v === undefined) fail(field, `is not an instrument of any venue of the set-up (known: ${symbols.join(', ')})`);
        if (!Number.isSafeInteger(quantity) || (quantity as number) <= 0) fail(field, `must be a whole number of tonnes above 0, not ${JSON.stringify(quantity)}`);
        const profile = profiles[v as number];
        if (!profile.admittedClasses.includes(accountClass)) {
          fail(field, `${id} is ${accountClass}, a class venue ${profile.venue} does not admit (it admits ${profile.admittedClasses.join(', ')})`);
        }
        if (admitted !== null && !admitted.includes(profile.venue)) {
          fail(field, `${id} is not admitted to venue ${profile.venue} (its venues: ${admitted.join(', ')})`);
        }
        holdings.push([symbol, quantity as number]);
      }
    }

    commands.push({ type: 'createAccount', accountId: id, member: member as string, accountClass, allocation, venues: admitted });
    if (cash > 0) commands.push({ type: 'deposit', accountId: id, cash });
    for (const [symbol, quantity] of holdings) commands.push({ type: 'deposit', accountId: id, symbol, quantity });
  });

  return { file, profiles, commands };
}

/** The set-up's commands stamped with sequence numbers startSeq, startSeq + 1, … the time and the set-up operator. */
export function stampSetup(setup: MarketSetup, startSeq: number, time: number): Command[] {
  return setup.commands.map((body, i) => ({ ...body, seq: startSeq + i, time, actor: { ...SETUP_ACTOR } }) as Command);
}

/** A short description of a set-up command for error messages. */
function describe(c: CommandBody): string {
  switch (c.type) {
    case 'listInstrument': return `listInstrument ${c.symbol}`;
    case 'createAccount': return `createAccount ${c.accountId}`;
    case 'deposit': return c.cash != null ? `deposit of cash into ${c.accountId}` : `deposit of ${c.quantity} t ${c.symbol} into ${c.accountId}`;
    default: return c.type;
  }
}

/**
 * Applies a set-up to an engine: its commands are stamped with the sequence numbers startSeq,
 * startSeq + 1, … (the first one is startSeq itself, so it must follow the engine's last sequence),
 * the given time and the actor { role: 'operator', id: 'setup' }. Throws a SetupError at the first
 * command the engine rejects (the ones before it stay applied). Returns the last sequence number used.
 */
export function applySetup(engine: Engine, setup: MarketSetup, startSeq: number, time: number): number {
  const commands = stampSetup(setup, startSeq, time);
  commands.forEach((command, i) => {
    const result = engine.apply(command);
    if (!result.ok) {
      throw new SetupError(setup.file, `commands[${i}]`, `${describe(setup.commands[i])} (seq ${command.seq}) was rejected: ${result.code}: ${result.message}`);
    }
  });
  return startSeq + commands.length - 1;
}
