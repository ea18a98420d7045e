// Date ranges of the reports dashboard: `from` inclusive, `to` exclusive (UTC days).

export function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return isoDay(d);
}

/** The last `days` days up to and including today: [today - days + 1, today + 1). */
export function lastDays(days: number, now = new Date()): { from: string; to: string } {
  const today = isoDay(now);
  return { from: addDays(today, 1 - days), to: addDays(today, 1) };
}

/** The primary currency of a set of per-currency figures: USD when present, else the largest. */
export function mainCurrency(...maps: (Record<string, number> | undefined)[]): string {
  const totals = new Map<string, number>();
  for (const m of maps) for (const [c, v] of Object.entries(m ?? {})) totals.set(c, (totals.get(c) ?? 0) + v);
  if (totals.has('USD') || totals.size === 0) return 'USD';
  return [...totals].sort((a, b) => b[1] - a[1])[0][0];
}
