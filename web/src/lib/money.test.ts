import { formatMoney, minorDigits, parseMoney, toMajorString } from './money';

describe('formatMoney', () => {
  it('formats integer minor units per currency', () => {
    expect(formatMoney(1999, 'USD', 'en-US')).toBe('$19.99');
    expect(formatMoney(0, 'USD', 'en-US')).toBe('$0.00');
    expect(formatMoney(123456789, 'USD', 'en-US')).toBe('$1,234,567.89');
    // Zero- and three-decimal currencies: minor units are yen and fils.
    expect(formatMoney(500, 'JPY', 'en-US')).toBe('¥500');
    expect(formatMoney(1234, 'KWD', 'en-US')).toBe('KWD\u00a01.234');
  });

  it('follows the locale', () => {
    expect(formatMoney(1999, 'EUR', 'de-DE')).toBe('19,99\u00a0€');
    expect(formatMoney(1999, 'EUR', 'en-IE')).toBe('€19.99');
  });

  it('accepts lower case codes and falls back for unknown ones', () => {
    expect(formatMoney(250, 'usd', 'en-US')).toBe('$2.50');
    expect(formatMoney(250, 'NOPE', 'en-US')).toBe('2.50 NOPE');
  });
});

describe('parseMoney', () => {
  it('reads major units into minor units', () => {
    expect(parseMoney('19.99')).toBe(1999);
    expect(parseMoney('19,9')).toBe(1990);
    expect(parseMoney(' 20 ')).toBe(2000);
    expect(parseMoney('0.07')).toBe(7);
    expect(parseMoney('500', 'JPY')).toBe(500);
    expect(parseMoney('1.234', 'KWD')).toBe(1234);
  });

  it('refuses what is not an amount', () => {
    for (const bad of ['', 'abc', '-1', '1.999', '1e3', '1.2.3', '.5']) expect(parseMoney(bad)).toBeNull();
    expect(parseMoney('5.5', 'JPY')).toBeNull();
  });

  it('round-trips with toMajorString', () => {
    for (const cents of [0, 5, 99, 100, 1999, 123456]) expect(parseMoney(toMajorString(cents))).toBe(cents);
    expect(toMajorString(5)).toBe('0.05');
    expect(toMajorString(1234, 'KWD')).toBe('1.234');
    expect(minorDigits('JPY')).toBe(0);
  });
});
