// Accounts, their cash and their allowance positions. Full funds and full holdings: a buy freezes
// its cash (notional at the limit plus the fee reserve), a sell freezes its tonnes; tonnes bought
// today stay `pending` until the end-of-day run.
import type { AccountClass } from './profile.ts';

export type Restriction = 'none' | 'no_buy' | 'no_sell' | 'frozen';
export const RESTRICTIONS: readonly Restriction[] = ['none', 'no_buy', 'no_sell', 'frozen'];

/** An open large-holder report obligation, or a filed one until the holding falls back under. */
export interface LargeHolderStatus {
  /** Trading day (day number) on which the holding crossed the threshold. */
  since: number;
  /** Last trading day on which the report is on time. */
  dueDay: number;
  /** Holding and threshold when it crossed. */
  holding: number;
  threshold: number;
  /** Trading day on which it was filed, or null while it is still owed. */
  filedDay: number | null;
  text: string | null;
}

/** Instrument indexes whose admission an account keeps as bits of a small integer. */
export const ADMISSION_BITS = 30;

export class Position {
  /** Tonnes that may be sold. */
  available = 0;
  /** Tonnes held back by open sell orders. */
  frozen = 0;
  /** Tonnes bought today, sellable after the end-of-day run. */
  pending = 0;
  /** Tonnes that open buy orders may still bring in (they count against the position cap). */
  openBuy = 0;
  /** Per-account cap set by a risk officer: undefined = the class rule; null = no cap. */
  capOverride: number | null | undefined = undefined;
  /** Per-account large-holder threshold set by a risk officer: undefined = the class rule. */
  thresholdOverride: number | null | undefined = undefined;
  largeHolder: LargeHolderStatus | null = null;
  constructor(public readonly instrumentIndex: number) {}

  /** What the account holds of the instrument, whatever its state. */
  get holding(): number {
    return this.available + this.frozen + this.pending;
  }
}

export class Account {
  /** Cash in fen that can fund a buy or be withdrawn. */
  cash = 0;
  /** Cash in fen held back by open buy orders. */
  cashFrozen = 0;
  restriction: Restriction = 'none';
  restrictionReason: string | null = null;
  /** Positions indexed by instrument index; created on first use. */
  readonly positions: (Position | undefined)[] = [];
  /**
   * Whether it is admitted to each instrument's venue, worked out on first use. For instrument
   * indexes below ADMISSION_BITS, bit i of `admissionKnown` says it was worked out and bit i of
   * `admissionBits` that it is admitted (two small integers on the account itself, read on every
   * order); higher indexes are kept in `admissionBeyond`.
   */
  admissionKnown = 0;
  admissionBits = 0;
  admissionBeyond: Map<number, boolean> | null = null;
  /** Number of open orders, so that an account with none can be skipped quickly. */
  openOrders = 0;
  constructor(
    public readonly id: string,
    public readonly member: string,
    public readonly accountClass: AccountClass,
    /** Annual allocation in tonnes (compliance accounts); caps and thresholds may add it. An operator may change it. */
    public allocation: number,
    /** Venues the account is admitted to; null = every venue that admits its class. An operator may change them (see admitTo). */
    public venues: ReadonlySet<string> | null,
  ) {}

  /** New venues: the admissions worked out for the old ones are forgotten. */
  admitTo(venues: ReadonlySet<string> | null): void {
    this.venues = venues;
    this.admissionKnown = 0;
    this.admissionBits = 0;
    this.admissionBeyond = null;
  }

  /** The position for reading: an empty one (not stored) when the account has none yet. */
  peek(instrumentIndex: number): Position {
    return this.positions[instrumentIndex] ?? EMPTY_POSITION;
  }

  position(instrumentIndex: number): Position {
    let p = this.positions[instrumentIndex];
    if (p === undefined) {
      p = new Position(instrumentIndex);
      this.positions[instrumentIndex] = p;
    }
    return p;
  }
}

/** What an account without a position in an instrument reads as. Never written to. */
const EMPTY_POSITION = Object.freeze(new Position(-1)) as Position;
