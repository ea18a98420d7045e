// Role -> permission table of ARCHITECTURE.md ("roles and permissions").
// GET /auth/roles is the authority when it answers; this copy is the fallback.
// Screens ask for a permission, never for a role name.
import type { RoleInfo } from '../api/types';

export const P = {
  productsWrite: 'products:write',
  ordersReadAny: 'orders:read:any',
  ordersCancelAny: 'orders:cancel:any',
  usersRead: 'users:read',
  usersWrite: 'users:write',
  reportsRead: 'reports:read',
  clientsWrite: 'clients:write',
  auditRead: 'audit:read',
} as const;

export type Permission = (typeof P)[keyof typeof P] | (string & {});

const SUPPORT = [P.ordersReadAny, P.ordersCancelAny, P.usersRead];

export const BUILTIN_ROLES: RoleInfo[] = [
  { name: 'customer', permissions: [] },
  { name: 'catalog', permissions: [P.productsWrite] },
  { name: 'support', permissions: SUPPORT },
  { name: 'analyst', permissions: [P.reportsRead] },
  {
    name: 'admin',
    permissions: [P.productsWrite, ...SUPPORT, P.reportsRead, P.usersWrite, P.clientsWrite, P.auditRead],
  },
];

/** Roles an admin may assign today when GET /auth/roles does not answer (the API's enum). */
export const BUILTIN_ASSIGNABLE = ['customer', 'admin'];

/** Permissions of a token: those of its roles plus those of its `scope` claim. */
export function effectivePermissions(
  roles: readonly string[] | undefined,
  scope: string | undefined,
  table: readonly RoleInfo[] = BUILTIN_ROLES,
): Set<string> {
  const out = new Set<string>();
  for (const r of roles ?? []) {
    const entry = table.find((t) => t.name === r);
    for (const p of entry?.permissions ?? []) out.add(p);
  }
  for (const p of (scope ?? '').split(/\s+/)) if (p) out.add(p);
  return out;
}

/** Every permission the table knows (for OAuth client scopes). */
export function allPermissions(table: readonly RoleInfo[] = BUILTIN_ROLES): string[] {
  return [...new Set(table.flatMap((r) => r.permissions))].sort();
}

export interface AdminSection {
  path: string;
  label: string;
  /** Any one of these permissions opens the section. */
  anyOf: string[];
  /** The section needs a service that may not be deployed yet. */
  optionalService?: 'reports' | 'clients' | 'audit';
}

export const ADMIN_SECTIONS: AdminSection[] = [
  { path: '/admin/products', label: 'Products', anyOf: [P.productsWrite] },
  { path: '/admin/orders', label: 'Orders', anyOf: [P.ordersReadAny] },
  { path: '/admin/users', label: 'Users', anyOf: [P.usersRead, P.usersWrite] },
  { path: '/admin/reports', label: 'Reports', anyOf: [P.reportsRead], optionalService: 'reports' },
  { path: '/admin/clients', label: 'OAuth clients', anyOf: [P.clientsWrite], optionalService: 'clients' },
  { path: '/admin/audit', label: 'Audit log', anyOf: [P.auditRead], optionalService: 'audit' },
];

/** Sections a user with these permissions may see (services known to be absent left out). */
export function visibleSections(
  perms: ReadonlySet<string>,
  available: Partial<Record<'reports' | 'clients' | 'audit', boolean>> = {},
): AdminSection[] {
  return ADMIN_SECTIONS.filter(
    (s) =>
      s.anyOf.some((p) => perms.has(p)) && (!s.optionalService || available[s.optionalService] === true),
  );
}

export function canSeeBackOffice(perms: ReadonlySet<string>): boolean {
  return ADMIN_SECTIONS.some((s) => s.anyOf.some((p) => perms.has(p)));
}
