// Sessions and the exchange calendar, evaluated on the stamped time of a command. China Standard
// Time is UTC+8 all year, so local time is the stamped time plus eight hours.
import type { CompiledProfile, TradeMode } from './profile.ts';

export const DAY_MS = 86_400_000;
export const CST_OFFSET_MS = 8 * 3_600_000;

/** The local (UTC+8) day number of a stamped time: days since 1970-01-01. */
export function localDay(time: number): number {
  return Math.floor((time + CST_OFFSET_MS) / DAY_MS);
}

/** The stamped time of a local (UTC+8) day's midnight. */
export function localMidnight(day: number): number {
  return day * DAY_MS - CST_OFFSET_MS;
}

/** Minutes after local midnight of a stamped time. */
export function localMinute(time: number): number {
  const local = time + CST_OFFSET_MS;
  return Math.floor((local - Math.floor(local / DAY_MS) * DAY_MS) / 60_000);
}

/** True when the venue trades on that local day (its weekdays, less its holidays). */
export function isTradingDay(profile: CompiledProfile, day: number): boolean {
  return profile.weekdays[(day + 4) % 7] && !profile.holidays.has(day); // 1970-01-01 was a Thursday
}

/** The session [start, end) minutes of the mode that the minute falls in, or null. */
export function sessionAt(profile: CompiledProfile, mode: TradeMode, minute: number): [number, number] | null {
  const ranges = profile.sessions[mode];
  for (let i = 0; i < ranges.length; i += 2) {
    if (minute >= ranges[i] && minute < ranges[i + 1]) return [ranges[i], ranges[i + 1]];
  }
  return null;
}

/** The n-th trading day of the venue after `day` (n = 0 gives `day` itself). */
export function addTradingDays(profile: CompiledProfile, day: number, n: number): number {
  let d = day;
  for (let left = n; left > 0;) {
    d++;
    if (isTradingDay(profile, d)) left--;
    if (d - day > 3660) throw new Error('the calendar has no trading day within ten years');
  }
  return d;
}

let lastIsoTime = NaN;
let lastIsoText = '';

/** The stamped time as ISO 8601 in China Standard Time: 2026-11-20T10:15:00.000+08:00. */
export function isoTime(time: number): string {
  // A batch stamps many commands with the same millisecond: format it once.
  if (time !== lastIsoTime) {
    lastIsoText = new Date(time + CST_OFFSET_MS).toISOString().replace('Z', '+08:00');
    lastIsoTime = time;
  }
  return lastIsoText;
}

export function hhmm(minute: number): string {
  const h = Math.floor(minute / 60), m = minute % 60;
  return `${h < 10 ? '0' : ''}${h}:${m < 10 ? '0' : ''}${m}`;
}

/** "09:30–11:30, 13:00–15:00": a mode's sessions for messages. */
export function describeSessions(profile: CompiledProfile, mode: TradeMode): string {
  const ranges = profile.sessions[mode];
  if (ranges.length === 0) return 'none';
  const parts: string[] = [];
  for (let i = 0; i < ranges.length; i += 2) parts.push(`${hhmm(ranges[i])}–${hhmm(ranges[i + 1])}`);
  return parts.join(', ');
}
