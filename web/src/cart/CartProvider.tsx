import { createContext, useCallback, useContext, useEffect, useMemo, useSyncExternalStore, type ReactNode } from 'react';
import * as cart from './cart';
import type { CartLine, ProductLike } from './cart';

export const CART_KEY = 'souk.cart';

/** The cart in localStorage, shared by tabs (storage events). */
class CartStore {
  private lines: CartLine[] = [];
  private listeners = new Set<() => void>();

  constructor() {
    this.lines = this.read();
  }

  private read(): CartLine[] {
    try {
      return cart.sanitize(JSON.parse(localStorage.getItem(CART_KEY) ?? '[]'));
    } catch {
      return [];
    }
  }

  subscribe = (l: () => void) => {
    this.listeners.add(l);
    return () => {
      this.listeners.delete(l);
    };
  };

  get = () => this.lines;

  set(lines: CartLine[]): void {
    this.lines = lines;
    try {
      if (lines.length) localStorage.setItem(CART_KEY, JSON.stringify(lines));
      else localStorage.removeItem(CART_KEY);
    } catch {
      /* storage full or blocked: the cart lasts for this page only */
    }
    this.listeners.forEach((l) => l());
  }

  reload(): void {
    this.lines = this.read();
    this.listeners.forEach((l) => l());
  }
}

export interface CartValue {
  lines: CartLine[];
  count: number;
  totals: { currency: string; totalCents: number }[];
  add(p: ProductLike, quantity?: number): void;
  setQuantity(productId: string, quantity: number): void;
  remove(productId: string): void;
  /** Refreshes names, prices and stock from the catalog. */
  update(p: ProductLike): void;
  clear(): void;
}

const CartContext = createContext<CartValue | null>(null);

export function CartProvider({ children }: { children: ReactNode }) {
  const store = useMemo(() => new CartStore(), []);
  const lines = useSyncExternalStore(store.subscribe, store.get, store.get);

  useEffect(() => {
    const on = (e: StorageEvent) => {
      if (e.key === CART_KEY || e.key === null) store.reload();
    };
    window.addEventListener('storage', on);
    return () => window.removeEventListener('storage', on);
  }, [store]);

  const add = useCallback((p: ProductLike, q = 1) => store.set(cart.addItem(store.get(), p, q)), [store]);
  const value = useMemo<CartValue>(
    () => ({
      lines,
      count: cart.itemCount(lines),
      totals: cart.totalsByCurrency(lines),
      add,
      setQuantity: (id, q) => store.set(cart.setQuantity(store.get(), id, q)),
      remove: (id) => store.set(cart.removeItem(store.get(), id)),
      update: (p) => {
        const next = cart.refreshLine(store.get(), p);
        if (next !== store.get()) store.set(next);
      },
      clear: () => store.set([]),
    }),
    [lines, add, store],
  );
  return <CartContext.Provider value={value}>{children}</CartContext.Provider>;
}

export function useCart(): CartValue {
  const v = useContext(CartContext);
  if (!v) throw new Error('useCart outside CartProvider');
  return v;
}
