import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { useAuth } from '../auth/AuthProvider';

export function loginPath(next: string): string {
  return `/login?next=${encodeURIComponent(next)}`;
}

/** Only for a logged-in user; others go to log in and come back. */
export function RequireAuth({ children, next }: { children: ReactNode; next?: string }) {
  const { session } = useAuth();
  const loc = useLocation();
  if (!session) return <Navigate to={loginPath(next ?? loc.pathname + loc.search)} replace />;
  return <>{children}</>;
}

/** Only with one of these permissions; others see a refusal. */
export function RequirePermission({ anyOf, children }: { anyOf: string[]; children: ReactNode }) {
  const { has } = useAuth();
  if (!anyOf.some(has)) return <Forbidden />;
  return <>{children}</>;
}

export function Forbidden() {
  return (
    <section className="page" aria-labelledby="forbidden-title">
      <h1 id="forbidden-title" tabIndex={-1}>
        Access denied
      </h1>
      <div className="alert alert-error" role="alert">
        Your account does not have permission to see this page.
      </div>
      <p>
        <a href="/">Back to the shop</a>
      </p>
    </section>
  );
}
