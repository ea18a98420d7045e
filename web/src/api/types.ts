// Shapes of ARCHITECTURE.md §4 (and docs/openapi.yaml).

export interface Page<T> {
  items: T[];
  page: number;
  limit: number;
  total: number;
  /** false when `total` is an estimate (large product searches). */
  total_exact?: boolean;
}

export interface User {
  id: string;
  email: string;
  name: string;
  roles: string[];
  disabled: boolean;
  created_at: string;
  updated_at: string;
}

export interface TokenPair {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  user: User;
}

export interface Product {
  id: string;
  sku: string | null;
  name: string;
  description: string;
  price_cents: number;
  currency: string;
  stock: number;
  category: string | null;
  created_at: string;
  updated_at: string;
}

export interface ProductInput {
  name?: string;
  description?: string | null;
  price_cents?: number;
  currency?: string;
  stock?: number;
  category?: string | null;
  sku?: string | null;
}

export type OrderStatus = 'pending' | 'confirmed' | 'rejected' | 'cancelled';

export interface OrderItem {
  product_id: string;
  name: string;
  quantity: number;
  unit_price_cents: number;
}

export interface Order {
  id: string;
  user_id: string;
  status: OrderStatus;
  reason: string | null;
  items: OrderItem[];
  total_cents: number;
  currency: string;
  created_at: string;
  updated_at: string;
}

export interface RoleInfo {
  name: string;
  permissions: string[];
}

export interface Provider {
  name: string;
  display_name: string;
}

export interface Recommendations {
  strategy: string;
  items: { id: string; name: string; price_cents: number; currency: string }[];
}

export interface Notification {
  id: string;
  type: string;
  title: string;
  body: string;
  data: unknown;
  read: boolean;
  created_at: string;
}

export type ByCurrency = Record<string, number>;

export interface ReportSummary {
  orders_placed: number;
  orders_confirmed: number;
  orders_rejected: number;
  orders_cancelled: number;
  units_sold: number;
  revenue_by_currency: ByCurrency;
  average_order_cents_by_currency: ByCurrency;
  new_users: number;
}

export interface SalesPoint {
  period_start: string;
  orders: number;
  units: number;
  revenue_by_currency: ByCurrency;
}

export interface TopProduct {
  product_id: string;
  name: string;
  units: number;
  revenue_cents: number;
  currency: string;
}

export interface CategoryRow {
  category: string;
  units: number;
  revenue_by_currency: ByCurrency;
}

export interface OAuthClient {
  client_id: string;
  name: string;
  scopes: string[];
  created_at?: string;
  client_secret?: string;
}

export interface AuditEntry {
  id: string;
  at: string;
  actor_id: string | null;
  actor_type: 'user' | 'client';
  action: string;
  target_type: string | null;
  target_id: string | null;
  outcome: string;
  client_ip: string | null;
  request_id: string | null;
}
