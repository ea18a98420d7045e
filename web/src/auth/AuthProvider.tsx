import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import * as api from '../api/endpoints';
import { setAuthHooks } from '../api/http';
import type { RoleInfo, TokenPair, User } from '../api/types';
import { BUILTIN_ROLES, effectivePermissions } from './permissions';
import { SessionManager, type EndReason, type Session } from './session';

export const sessionManager = new SessionManager({
  refresh: (rt) => api.refresh(rt),
  logout: (rt) => api.logout(rt),
});

export interface AuthValue {
  session: Session | null;
  user: User | null;
  permissions: ReadonlySet<string>;
  /** The role table in force (from GET /auth/roles, or the built-in copy). */
  roleTable: readonly RoleInfo[];
  rolesFromServer: boolean;
  has(permission: string): boolean;
  signIn(pair: TokenPair): void;
  signOut(): Promise<void>;
  setUser(u: User): void;
  /** Why the last session ended, until the next sign-in. */
  endReason: EndReason | null;
}

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children, manager = sessionManager }: { children: ReactNode; manager?: SessionManager }) {
  const [endReason, setEndReason] = useState<EndReason | null>(null);

  // Started during the first render: children's queries run in effects that
  // fire before this component's own, and they need the tokens already.
  const started = useRef<SessionManager | null>(null);
  if (started.current !== manager) {
    started.current = manager;
    setAuthHooks({
      accessToken: () => manager.accessToken(),
      refreshAfter401: () => manager.refreshAfter401(),
      sessionExpired: () => manager.expire(),
    });
    manager.start();
  }
  useEffect(() => manager.onEnd(setEndReason), [manager]);

  const session = useSyncExternalStore(manager.subscribe, manager.getSnapshot, manager.getSnapshot);
  const userId = session?.user.id ?? null;
  const qc = useQueryClient();

  // Another person's orders must never show, even for a moment, after a
  // logout and a login in the same tab (or a change in another tab): cached
  // data goes whenever the user changes.
  const lastUser = useRef(userId);
  useEffect(() => {
    if (lastUser.current !== userId) {
      lastUser.current = userId;
      qc.removeQueries({ predicate: (q) => !['products', 'product', 'categories'].includes(String(q.queryKey[0])) });
    }
  }, [userId, qc]);

  const roles = useQuery({
    queryKey: ['auth', 'roles', userId],
    queryFn: api.getRoles,
    enabled: userId != null,
    staleTime: 10 * 60_000,
    retry: false,
  });

  const value = useMemo<AuthValue>(() => {
    const clearPrivate = () =>
      qc.removeQueries({ predicate: (q) => !['products', 'product', 'categories'].includes(String(q.queryKey[0])) });
    const table = roles.data && Array.isArray(roles.data) ? roles.data : BUILTIN_ROLES;
    const claimRoles = session?.claims.roles ?? session?.user.roles;
    const permissions = session ? effectivePermissions(claimRoles, session.claims.scope, table) : new Set<string>();
    return {
      session,
      user: session?.user ?? null,
      permissions,
      roleTable: table,
      rolesFromServer: table !== BUILTIN_ROLES,
      has: (p) => permissions.has(p),
      signIn: (pair) => {
        setEndReason(null);
        if (pair.user.id !== manager.current?.user.id) clearPrivate();
        manager.setTokens(pair);
      },
      signOut: () => {
        clearPrivate();
        return manager.logout();
      },
      setUser: (u) => manager.setUser(u),
      endReason,
    };
  }, [session, roles.data, endReason, manager, qc]);

  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const v = useContext(AuthContext);
  if (!v) throw new Error('useAuth outside AuthProvider');
  return v;
}

/** For tests and for screens rendered outside the provider. */
export const AuthContextForTests = AuthContext;
