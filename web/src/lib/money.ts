// Money is integer minor units plus an ISO 4217 code (ARCHITECTURE.md §4).
// Intl knows how many minor units each currency has (USD 2, JPY 0, KWD 3).

const formatters = new Map<string, Intl.NumberFormat>();

function formatter(currency: string, locale?: string): Intl.NumberFormat | null {
  const key = `${locale ?? ''}|${currency}`;
  let f = formatters.get(key);
  if (!f) {
    try {
      f = new Intl.NumberFormat(locale, { style: 'currency', currency });
    } catch {
      return null; // not a currency Intl knows
    }
    formatters.set(key, f);
  }
  return f;
}

/** Number of minor-unit digits of a currency (2 when unknown). */
export function minorDigits(currency: string): number {
  const f = formatter(currency, 'en-US');
  return f ? (f.resolvedOptions().maximumFractionDigits ?? 2) : 2;
}

/** Formats integer minor units, e.g. (1999, 'USD') -> "$19.99". */
export function formatMoney(minor: number, currency: string, locale?: string): string {
  const code = (currency || 'USD').toUpperCase();
  const f = formatter(code, locale);
  const digits = f ? (f.resolvedOptions().maximumFractionDigits ?? 2) : 2;
  const major = minor / 10 ** digits;
  if (!f) return `${major.toFixed(digits)} ${code}`;
  return f.format(major);
}

/**
 * Parses what a person typed as a price in major units ("19.99", "19,99",
 * "20") into integer minor units; null when it is not a non-negative amount
 * with at most the currency's number of decimals.
 */
export function parseMoney(text: string, currency = 'USD'): number | null {
  const digits = minorDigits(currency);
  const t = text.trim().replace(',', '.');
  const re = digits > 0 ? new RegExp(`^\\d+(\\.\\d{0,${digits}})?$`) : /^\d+$/;
  if (!re.test(t)) return null;
  const [whole, frac = ''] = t.split('.');
  const value = Number(whole) * 10 ** digits + Number((frac + '0'.repeat(digits)).slice(0, digits) || '0');
  return Number.isSafeInteger(value) ? value : null;
}

/** Minor units as a plain major-unit string for an input ("1999" -> "19.99"). */
export function toMajorString(minor: number, currency = 'USD'): string {
  const digits = minorDigits(currency);
  if (digits === 0) return String(minor);
  const s = String(Math.abs(minor)).padStart(digits + 1, '0');
  return `${minor < 0 ? '-' : ''}${s.slice(0, -digits)}.${s.slice(-digits)}`;
}
