import { useEffect, useRef, type ReactNode } from 'react';
import { Link, NavLink, useLocation } from 'react-router';
import { useAuth } from '../auth/AuthProvider';
import { canSeeBackOffice } from '../auth/permissions';
import { useCart } from '../cart/CartProvider';
import { NotificationsBell } from './NotificationsBell';

/** Moves focus to the new page's heading after a client-side navigation. */
function useFocusOnNavigate() {
  const loc = useLocation();
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const h1 = document.querySelector<HTMLElement>('main h1');
    if (h1) {
      if (!h1.hasAttribute('tabindex')) h1.setAttribute('tabindex', '-1');
      h1.focus({ preventScroll: false });
    }
  }, [loc.pathname]);
}

export function Layout({ children }: { children: ReactNode }) {
  const { session, permissions } = useAuth();
  const { count } = useCart();
  useFocusOnNavigate();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="site-header">
        <div className="header-inner">
          <Link to="/" className="brand">
            souk
          </Link>
          <nav aria-label="Main" className="main-nav">
            <NavLink to="/" end>
              Shop
            </NavLink>
            {session && <NavLink to="/account/orders">Orders</NavLink>}
            {canSeeBackOffice(permissions) && <NavLink to="/admin">Back office</NavLink>}
            <NavLink to="/cart">
              Cart{' '}
              <span className="badge" aria-hidden="true">
                {count}
              </span>
              <span className="visually-hidden">
                , {count} {count === 1 ? 'item' : 'items'}
              </span>
            </NavLink>
            {session ? (
              <>
                <NotificationsBell />
                <NavLink to="/account">Account</NavLink>
              </>
            ) : (
              <NavLink to="/login">Log in</NavLink>
            )}
          </nav>
        </div>
      </header>
      <main id="main" className="site-main" tabIndex={-1}>
        {children}
      </main>
      <footer className="site-footer">
        <p>
          souk · <a href="/docs">API documentation</a>
        </p>
      </footer>
    </>
  );
}
