import { lazy } from 'react';
import { Navigate, NavLink, Route, Routes } from 'react-router';
import * as api from '../api/endpoints';
import { useAuth } from '../auth/AuthProvider';
import { canSeeBackOffice, P, visibleSections } from '../auth/permissions';
import { Forbidden, RequirePermission } from '../components/Guards';
import { Loading } from '../components/Loading';
import { useOptionalService, type ServiceState } from '../lib/optionalService';
import { AdminOrders } from './AdminOrders';
import { AdminProducts } from './AdminProducts';
import { AdminUsers } from './AdminUsers';
import { AuditLog } from './AuditLog';
import { OAuthClients } from './OAuthClients';
import { ProductEditor } from './ProductEditor';

// Charts are heavy: their chunk loads only on the reports page.
const Reports = lazy(() => import('./Reports'));

const today = () => new Date().toISOString().slice(0, 10);
const tomorrow = () => new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);

export function useOptionalAdminServices(): Record<'reports' | 'clients' | 'audit', ServiceState> {
  const { has } = useAuth();
  return {
    reports: useOptionalService('reports', () => api.reportSummary({ from: today(), to: tomorrow() }), has(P.reportsRead)),
    clients: useOptionalService('clients', api.listClients, has(P.clientsWrite)),
    audit: useOptionalService('audit', () => api.listAudit({ limit: 1 }), has(P.auditRead)),
  };
}

function NotDeployed({ what }: { what: string }) {
  return (
    <section className="page">
      <h1>{what}</h1>
      <p className="alert alert-info">{what} are not available on this installation yet.</p>
    </section>
  );
}

function Optional({ state, what, children }: { state: ServiceState; what: string; children: React.ReactNode }) {
  if (state === 'checking') return <Loading />;
  if (state === 'absent') return <NotDeployed what={what} />;
  return <>{children}</>;
}

export default function AdminApp() {
  const { permissions } = useAuth();
  const services = useOptionalAdminServices();
  if (!canSeeBackOffice(permissions)) return <Forbidden />;
  const available = {
    reports: services.reports === 'available',
    clients: services.clients === 'available',
    audit: services.audit === 'available',
  };
  const sections = visibleSections(permissions, available);
  return (
    <div className="admin">
      <nav className="admin-nav" aria-label="Back office">
        <p className="admin-nav-title">Back office</p>
        <ul>
          {sections.map((s) => (
            <li key={s.path}>
              <NavLink to={s.path}>{s.label}</NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <div className="admin-main">
        <Routes>
          <Route index element={sections[0] ? <Navigate to={sections[0].path} replace /> : <Loading />} />
          <Route
            path="products"
            element={
              <RequirePermission anyOf={[P.productsWrite]}>
                <AdminProducts />
              </RequirePermission>
            }
          />
          <Route
            path="products/new"
            element={
              <RequirePermission anyOf={[P.productsWrite]}>
                <ProductEditor />
              </RequirePermission>
            }
          />
          <Route
            path="products/:id"
            element={
              <RequirePermission anyOf={[P.productsWrite]}>
                <ProductEditor />
              </RequirePermission>
            }
          />
          <Route
            path="orders"
            element={
              <RequirePermission anyOf={[P.ordersReadAny]}>
                <AdminOrders />
              </RequirePermission>
            }
          />
          <Route
            path="users"
            element={
              <RequirePermission anyOf={[P.usersRead, P.usersWrite]}>
                <AdminUsers />
              </RequirePermission>
            }
          />
          <Route
            path="reports"
            element={
              <RequirePermission anyOf={[P.reportsRead]}>
                <Optional state={services.reports} what="Reports">
                  <Reports />
                </Optional>
              </RequirePermission>
            }
          />
          <Route
            path="clients"
            element={
              <RequirePermission anyOf={[P.clientsWrite]}>
                <Optional state={services.clients} what="OAuth clients">
                  <OAuthClients />
                </Optional>
              </RequirePermission>
            }
          />
          <Route
            path="audit"
            element={
              <RequirePermission anyOf={[P.auditRead]}>
                <Optional state={services.audit} what="Audit logs">
                  <AuditLog />
                </Optional>
              </RequirePermission>
            }
          />
          <Route path="*" element={<Navigate to="/admin" replace />} />
        </Routes>
      </div>
    </div>
  );
}
