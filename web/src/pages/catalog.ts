// The catalog's query lives in the URL: /?q=&category=&min=&max=&sort=&page=
import type { ProductQuery } from '../api/endpoints';
import { parseMoney } from '../lib/money';

export const SORTS = [
  { value: '-created_at', label: 'Newest' },
  { value: 'price', label: 'Price: low to high' },
  { value: '-price', label: 'Price: high to low' },
  { value: 'name', label: 'Name' },
] as const;

export const PAGE_SIZE = 12;

export interface CatalogParams {
  q: string;
  category: string;
  min: string;
  max: string;
  sort: string;
  page: number;
}

export function readParams(sp: URLSearchParams): CatalogParams {
  const page = Number(sp.get('page') ?? '1');
  const sort = sp.get('sort') ?? '';
  return {
    q: sp.get('q') ?? '',
    category: sp.get('category') ?? '',
    min: sp.get('min') ?? '',
    max: sp.get('max') ?? '',
    sort: SORTS.some((s) => s.value === sort) ? sort : '-created_at',
    page: Number.isInteger(page) && page > 0 ? page : 1,
  };
}

export function writeParams(p: CatalogParams): URLSearchParams {
  const sp = new URLSearchParams();
  if (p.q.trim()) sp.set('q', p.q.trim());
  if (p.category) sp.set('category', p.category);
  if (p.min.trim()) sp.set('min', p.min.trim());
  if (p.max.trim()) sp.set('max', p.max.trim());
  if (p.sort && p.sort !== '-created_at') sp.set('sort', p.sort);
  if (p.page > 1) sp.set('page', String(p.page));
  return sp;
}

/** The API query for URL parameters (prices typed in major units). */
export function toQuery(p: CatalogParams): ProductQuery {
  const min = p.min ? parseMoney(p.min) : null;
  const max = p.max ? parseMoney(p.max) : null;
  return {
    q: p.q || undefined,
    category: p.category || undefined,
    min_price: min ?? undefined,
    max_price: max ?? undefined,
    sort: p.sort,
    page: p.page,
    limit: PAGE_SIZE,
  };
}
