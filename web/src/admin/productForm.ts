// The product form's values <-> the API's ProductInput.
import type { Product, ProductInput } from '../api/types';
import { parseMoney, toMajorString } from '../lib/money';

export interface ProductFormValues {
  name: string;
  description: string;
  price: string;
  currency: string;
  stock: string;
  category: string;
  sku: string;
}

export const PRODUCT_FIELDS = ['name', 'description', 'price', 'currency', 'stock', 'category', 'sku'] as const;

/** The API names the price `price_cents`; the form takes it in major units. */
export const PRODUCT_ALIASES = { price_cents: 'price' } as const;

export function toFormValues(p?: Product): ProductFormValues {
  if (!p) return { name: '', description: '', price: '', currency: 'USD', stock: '0', category: '', sku: '' };
  return {
    name: p.name,
    description: p.description ?? '',
    price: toMajorString(p.price_cents, p.currency),
    currency: p.currency,
    stock: String(p.stock),
    category: p.category ?? '',
    sku: p.sku ?? '',
  };
}

/** The body to send; for an edit only the members that changed. */
export function toInput(v: ProductFormValues, original?: Product): ProductInput {
  const currency = v.currency.trim().toUpperCase() || 'USD';
  const full: ProductInput = {
    name: v.name.trim(),
    description: v.description.trim() || null,
    price_cents: parseMoney(v.price, currency) ?? NaN,
    currency,
    stock: Number(v.stock),
    category: v.category.trim() || null,
    sku: v.sku.trim() || null,
  };
  if (!original) {
    // Absent rather than null on creation.
    const body: ProductInput = { ...full };
    if (body.description === null) delete body.description;
    if (body.category === null) delete body.category;
    if (body.sku === null) delete body.sku;
    return body;
  }
  const diff: ProductInput = {};
  if (full.name !== original.name) diff.name = full.name;
  if ((full.description ?? '') !== (original.description ?? '')) diff.description = full.description;
  if (full.price_cents !== original.price_cents) diff.price_cents = full.price_cents;
  if (full.currency !== original.currency) diff.currency = full.currency;
  if (full.stock !== original.stock) diff.stock = full.stock;
  if (full.category !== original.category) diff.category = full.category;
  if (full.sku !== original.sku) diff.sku = full.sku;
  return diff;
}
