// One function per route the front end calls.
import { qs, request } from './http';
import type {
  AuditEntry,
  CategoryRow,
  Notification,
  OAuthClient,
  Order,
  OrderStatus,
  Page,
  Product,
  ProductInput,
  Provider,
  Recommendations,
  ReportSummary,
  RoleInfo,
  SalesPoint,
  TokenPair,
  TopProduct,
  User,
} from './types';

// ---- auth
export const login = (email: string, password: string) =>
  request<TokenPair>('/auth/login', { method: 'POST', body: { email, password } });
export const register = (email: string, password: string, name: string) =>
  request<User>('/auth/register', { method: 'POST', body: { email, password, name: name || undefined } });
export const refresh = (refresh_token: string) =>
  request<TokenPair>('/auth/refresh', { method: 'POST', body: { refresh_token } });
export const logout = (refresh_token: string) =>
  request<void>('/auth/logout', { method: 'POST', body: { refresh_token } });
export const oauthExchange = (code: string) =>
  request<TokenPair>('/auth/oauth/exchange', { method: 'POST', body: { code } });
export const getMe = () => request<User>('/auth/me', { auth: 'required' });
export const getRoles = () => request<RoleInfo[]>('/auth/roles', { auth: 'required' });
export const getProviders = () => request<Provider[]>('/auth/providers');

// ---- users
export const updateUser = (id: string, patch: Record<string, unknown>) =>
  request<User>(`/users/${encodeURIComponent(id)}`, { method: 'PATCH', body: patch, auth: 'required' });
export const listUsers = (p: { q?: string; page?: number; limit?: number }) =>
  request<Page<User>>(`/users${qs(p)}`, { auth: 'required' });

// ---- products
export interface ProductQuery {
  q?: string;
  category?: string;
  min_price?: number;
  max_price?: number;
  sort?: string;
  page?: number;
  limit?: number;
}
export const listProducts = (p: ProductQuery, signal?: AbortSignal) =>
  request<Page<Product>>(`/products${qs({ ...p })}`, { signal });
export const getProduct = (id: string, signal?: AbortSignal) =>
  request<Product>(`/products/${encodeURIComponent(id)}`, { signal });
export const getRecommendations = (id: string) =>
  request<Recommendations>(`/products/${encodeURIComponent(id)}/recommendations?limit=5`);
export const createProduct = (body: ProductInput) =>
  request<Product>('/products', { method: 'POST', body, auth: 'required' });
export const updateProduct = (id: string, body: ProductInput) =>
  request<Product>(`/products/${encodeURIComponent(id)}`, { method: 'PATCH', body, auth: 'required' });
export const deleteProduct = (id: string) =>
  request<void>(`/products/${encodeURIComponent(id)}`, { method: 'DELETE', auth: 'required' });

// ---- orders
export const placeOrder = (items: { product_id: string; quantity: number }[], idempotencyKey: string) =>
  request<Order>('/orders', {
    method: 'POST',
    body: { items },
    headers: { 'Idempotency-Key': idempotencyKey },
    auth: 'required',
  });
export const listOrders = (p: { page?: number; limit?: number; status?: OrderStatus | ''; user_id?: string }) =>
  request<Page<Order>>(`/orders${qs(p)}`, { auth: 'required' });
export const getOrder = (id: string) => request<Order>(`/orders/${encodeURIComponent(id)}`, { auth: 'required' });
export const cancelOrder = (id: string) =>
  request<Order>(`/orders/${encodeURIComponent(id)}/cancel`, { method: 'POST', auth: 'required' });

// ---- notifications (notification-service)
export const unreadCount = () => request<{ count: number }>('/notifications/unread-count', { auth: 'required' });
export const listNotifications = (p: { page?: number; limit?: number; unread?: boolean }) =>
  request<Page<Notification>>(`/notifications${qs(p)}`, { auth: 'required' });
export const markRead = (id: string) =>
  request<void>(`/notifications/${encodeURIComponent(id)}/read`, { method: 'POST', auth: 'required' });
export const markAllRead = () => request<void>('/notifications/read-all', { method: 'POST', auth: 'required' });

// ---- reports (analytics-service)
export interface Range {
  from: string;
  to: string;
}
export const reportSummary = (r: Range) =>
  request<ReportSummary>(`/reports/summary${qs({ ...r })}`, { auth: 'required' });
export const reportSales = (r: Range, interval: string) =>
  request<{ items: SalesPoint[] }>(`/reports/sales${qs({ ...r, interval })}`, { auth: 'required' });
export const reportTopProducts = (r: Range, by: 'units' | 'revenue', limit = 10) =>
  request<{ items: TopProduct[] }>(`/reports/top-products${qs({ ...r, by, limit })}`, { auth: 'required' });
export const reportCategories = (r: Range) =>
  request<{ items: CategoryRow[] }>(`/reports/categories${qs({ ...r })}`, { auth: 'required' });
export const reportCsv = (path: string) =>
  request<string>(path, { auth: 'required', text: true, headers: { Accept: 'text/csv' } });

// ---- OAuth clients and audit (auth-service)
export const listClients = () => request<OAuthClient[] | Page<OAuthClient>>('/auth/clients', { auth: 'required' });
export const createClient = (name: string, scopes: string[]) =>
  request<OAuthClient>('/auth/clients', { method: 'POST', body: { name, scopes }, auth: 'required' });
export const deleteClient = (id: string) =>
  request<void>(`/auth/clients/${encodeURIComponent(id)}`, { method: 'DELETE', auth: 'required' });
export const listAudit = (p: { actor_id?: string; action?: string; page?: number; limit?: number }) =>
  request<Page<AuditEntry>>(`/audit${qs(p)}`, { auth: 'required' });
