// The cart's arithmetic: pure functions over lines, integer minor units.

export const MAX_QUANTITY = 1000; // the order API's limit per product

export interface CartLine {
  productId: string;
  name: string;
  unitPriceCents: number;
  currency: string;
  quantity: number;
  /** Stock when last seen; caps the quantity. */
  stock?: number;
}

export interface ProductLike {
  id: string;
  name: string;
  price_cents: number;
  currency: string;
  stock?: number;
}

export function maxQuantity(line: Pick<CartLine, 'stock'>): number {
  return Math.max(0, Math.min(MAX_QUANTITY, line.stock ?? MAX_QUANTITY));
}

function clamp(q: number, max: number): number {
  if (!Number.isFinite(q)) return 1;
  return Math.max(1, Math.min(max, Math.trunc(q)));
}

/** Adds a product (or more of it); quantities are capped by stock and the API limit. */
export function addItem(lines: readonly CartLine[], p: ProductLike, quantity = 1): CartLine[] {
  const existing = lines.find((l) => l.productId === p.id);
  const stock = p.stock ?? existing?.stock;
  const max = maxQuantity({ stock });
  if (max === 0) return [...lines];
  if (existing) {
    return lines.map((l) =>
      l.productId === p.id
        ? {
            ...l,
            name: p.name,
            unitPriceCents: p.price_cents,
            currency: p.currency,
            stock,
            quantity: clamp(l.quantity + quantity, max),
          }
        : l,
    );
  }
  return [
    ...lines,
    {
      productId: p.id,
      name: p.name,
      unitPriceCents: p.price_cents,
      currency: p.currency,
      stock,
      quantity: clamp(quantity, max),
    },
  ];
}

export function setQuantity(lines: readonly CartLine[], productId: string, quantity: number): CartLine[] {
  return lines.map((l) => (l.productId === productId ? { ...l, quantity: clamp(quantity, Math.max(1, maxQuantity(l))) } : l));
}

/** Takes a product's current name, price and stock; the same array when nothing changed. */
export function refreshLine(lines: CartLine[], p: ProductLike): CartLine[] {
  const l = lines.find((x) => x.productId === p.id);
  if (!l) return lines;
  const max = Math.max(1, maxQuantity({ stock: p.stock }));
  const quantity = Math.min(l.quantity, max);
  if (
    l.name === p.name &&
    l.unitPriceCents === p.price_cents &&
    l.currency === p.currency &&
    l.stock === p.stock &&
    l.quantity === quantity
  )
    return lines;
  return lines.map((x) =>
    x === l ? { ...x, name: p.name, unitPriceCents: p.price_cents, currency: p.currency, stock: p.stock, quantity } : x,
  );
}

export function removeItem(lines: readonly CartLine[], productId: string): CartLine[] {
  return lines.filter((l) => l.productId !== productId);
}

export function lineTotal(l: CartLine): number {
  return l.unitPriceCents * l.quantity;
}

export function itemCount(lines: readonly CartLine[]): number {
  return lines.reduce((n, l) => n + l.quantity, 0);
}

/** Totals per currency, in the order currencies first appear. */
export function totalsByCurrency(lines: readonly CartLine[]): { currency: string; totalCents: number }[] {
  const totals = new Map<string, number>();
  for (const l of lines) totals.set(l.currency, (totals.get(l.currency) ?? 0) + lineTotal(l));
  return [...totals].map(([currency, totalCents]) => ({ currency, totalCents }));
}

/** Same lines and quantities, whatever their order -> same string. */
export function fingerprint(lines: readonly CartLine[]): string {
  return lines
    .map((l) => `${l.productId}:${l.quantity}`)
    .sort()
    .join(',');
}

export function toOrderItems(lines: readonly CartLine[]): { product_id: string; quantity: number }[] {
  return lines.map((l) => ({ product_id: l.productId, quantity: l.quantity }));
}

/** Lines read back from storage: anything malformed is dropped. */
export function sanitize(value: unknown): CartLine[] {
  if (!Array.isArray(value)) return [];
  const out: CartLine[] = [];
  for (const v of value) {
    if (!v || typeof v !== 'object') continue;
    const l = v as Partial<CartLine>;
    if (
      typeof l.productId === 'string' &&
      typeof l.name === 'string' &&
      Number.isSafeInteger(l.unitPriceCents) &&
      typeof l.currency === 'string' &&
      Number.isSafeInteger(l.quantity) &&
      (l.quantity as number) > 0
    ) {
      out.push({
        productId: l.productId,
        name: l.name,
        unitPriceCents: l.unitPriceCents as number,
        currency: l.currency,
        quantity: Math.min(l.quantity as number, MAX_QUANTITY),
        stock: typeof l.stock === 'number' ? l.stock : undefined,
      });
    }
  }
  return out;
}
