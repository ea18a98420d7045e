import {
  addItem,
  fingerprint,
  itemCount,
  lineTotal,
  MAX_QUANTITY,
  refreshLine,
  removeItem,
  sanitize,
  setQuantity,
  toOrderItems,
  totalsByCurrency,
  type CartLine,
} from './cart';

const lamp = { id: 'p1', name: 'Lamp', price_cents: 1234, currency: 'USD', stock: 5 };
const mug = { id: 'p2', name: 'Mug', price_cents: 550, currency: 'USD', stock: 100 };
const tea = { id: 'p3', name: 'Tea', price_cents: 700, currency: 'EUR', stock: 10 };

describe('cart arithmetic', () => {
  it('adds, merges and totals in minor units', () => {
    let c: CartLine[] = [];
    c = addItem(c, lamp, 2);
    c = addItem(c, mug, 1);
    c = addItem(c, mug, 2);
    expect(c).toHaveLength(2);
    expect(c.find((l) => l.productId === 'p2')?.quantity).toBe(3);
    expect(lineTotal(c[0])).toBe(2468);
    expect(totalsByCurrency(c)).toEqual([{ currency: 'USD', totalCents: 2468 + 1650 }]);
    expect(itemCount(c)).toBe(5);
  });

  it('keeps one total per currency', () => {
    const c = addItem(addItem([], lamp, 1), tea, 2);
    expect(totalsByCurrency(c)).toEqual([
      { currency: 'USD', totalCents: 1234 },
      { currency: 'EUR', totalCents: 1400 },
    ]);
  });

  it('caps quantities at the stock and the API limit', () => {
    expect(addItem([], lamp, 9)[0].quantity).toBe(5);
    expect(addItem(addItem([], lamp, 4), lamp, 4)[0].quantity).toBe(5);
    const big = { ...mug, stock: 1_000_000 };
    expect(addItem([], big, 5000)[0].quantity).toBe(MAX_QUANTITY);
    expect(addItem([], { ...lamp, stock: 0 }, 1)).toEqual([]);
  });

  it('sets quantities within 1..stock and removes lines', () => {
    let c = addItem([], lamp, 1);
    expect(setQuantity(c, 'p1', 0)[0].quantity).toBe(1);
    expect(setQuantity(c, 'p1', 99)[0].quantity).toBe(5);
    expect(setQuantity(c, 'p1', 3.7)[0].quantity).toBe(3);
    c = addItem(c, mug, 1);
    expect(removeItem(c, 'p1').map((l) => l.productId)).toEqual(['p2']);
  });

  it('does not lose cents on large amounts', () => {
    const pricey = { id: 'x', name: 'X', price_cents: 999_999_999_999, currency: 'USD', stock: 1000 };
    const c = addItem([], pricey, 1000);
    expect(totalsByCurrency(c)[0].totalCents).toBe(999_999_999_999_000);
  });

  it('fingerprints lines whatever their order', () => {
    const a = addItem(addItem([], lamp, 2), mug, 1);
    const b = addItem(addItem([], mug, 1), lamp, 2);
    expect(fingerprint(a)).toBe(fingerprint(b));
    expect(fingerprint(setQuantity(a, 'p1', 3))).not.toBe(fingerprint(a));
    expect(toOrderItems(a)).toEqual([
      { product_id: 'p1', quantity: 2 },
      { product_id: 'p2', quantity: 1 },
    ]);
  });

  it('takes fresh prices and stock from the catalog, and returns the same array when nothing changed', () => {
    const c = addItem([], lamp, 4);
    expect(refreshLine(c, lamp)).toBe(c);
    const next = refreshLine(c, { ...lamp, price_cents: 1500, stock: 2 });
    expect(next[0]).toMatchObject({ unitPriceCents: 1500, stock: 2, quantity: 2 });
  });

  it('drops malformed stored lines', () => {
    expect(sanitize('nope')).toEqual([]);
    expect(
      sanitize([
        { productId: 'a', name: 'A', unitPriceCents: 100, currency: 'USD', quantity: 2 },
        { productId: 'b', name: 'B', unitPriceCents: 1.5, currency: 'USD', quantity: 1 },
        { productId: 'c', name: 'C', unitPriceCents: 100, currency: 'USD', quantity: 0 },
        null,
      ]).map((l) => l.productId),
    ).toEqual(['a']);
  });
});
