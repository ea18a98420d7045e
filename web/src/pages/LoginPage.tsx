import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { Link, useNavigate, useSearchParams } from 'react-router';
import * as api from '../api/endpoints';
import { ApiError, isApiError } from '../api/errors';
import { useAuth } from '../auth/AuthProvider';
import { ErrorMessage } from '../components/ErrorMessage';
import { Field } from '../components/Field';
import { applyProblem } from '../forms/problem';
import { useTitle } from '../lib/useTitle';
import { safeNext } from './nextPath';

export const OAUTH_NEXT_KEY = 'souk.oauth.next';

function Providers({ next }: { next: string }) {
  // auth-service lists its identity providers; none (or no route yet) -> no buttons.
  const providers = useQuery({ queryKey: ['auth', 'providers'], queryFn: api.getProviders, retry: false, staleTime: 10 * 60_000 });
  if (!providers.data || !Array.isArray(providers.data) || providers.data.length === 0) return null;
  const redirect = `${window.location.origin}/login/callback`;
  return (
    <div className="providers">
      <p className="divider">
        <span>or</span>
      </p>
      <ul>
        {providers.data.map((p) => (
          <li key={p.name}>
            <a
              className="btn btn-provider"
              href={`/auth/oauth/${encodeURIComponent(p.name)}/authorize?redirect_uri=${encodeURIComponent(redirect)}`}
              onClick={() => sessionStorage.setItem(OAUTH_NEXT_KEY, next)}
            >
              Continue with {p.display_name || p.name}
            </a>
          </li>
        ))}
      </ul>
    </div>
  );
}

interface LoginForm {
  email: string;
  password: string;
}

export function loginErrorMessage(e: unknown): string | null {
  if (!isApiError(e)) return null;
  if (e.status === 401) return 'The email or password is not right.';
  if (e.status === 403) return 'This account is disabled. Contact support if you think this is a mistake.';
  return null;
}

export function LoginPage() {
  useTitle('Log in');
  const [sp] = useSearchParams();
  const next = safeNext(sp.get('next'));
  const navigate = useNavigate();
  const { signIn, endReason, session } = useAuth();
  const [error, setError] = useState<unknown>(null);
  const [extra, setExtra] = useState<string[]>([]);
  const form = useForm<LoginForm>({ defaultValues: { email: '', password: '' } });
  const { errors, isSubmitting } = form.formState;

  const onSubmit = form.handleSubmit(async (v) => {
    setError(null);
    try {
      const pair = await api.login(v.email.trim(), v.password);
      signIn(pair);
      navigate(next, { replace: true });
    } catch (e) {
      setExtra(applyProblem(e, form.setError, ['email', 'password']));
      setError(e);
    }
  });

  const friendly = loginErrorMessage(error);
  return (
    <section className="page narrow" aria-labelledby="login-title">
      <h1 id="login-title">Log in</h1>
      {endReason === 'expired' && !session && (
        <p className="alert alert-info">Your session has ended. Please log in again.</p>
      )}
      {friendly ? (
        <div className="alert alert-error" role="alert">
          {friendly}
          {error instanceof ApiError && error.requestId && error.status !== 401 && (
            <p className="request-id">
              Reference <code>{error.requestId}</code>
            </p>
          )}
        </div>
      ) : (
        <ErrorMessage error={error} extra={extra} />
      )}
      <form onSubmit={onSubmit} noValidate className="stack-form">
        <Field
          label="Email"
          type="email"
          autoComplete="email"
          error={errors.email?.message}
          {...form.register('email', { required: 'Enter your email.' })}
        />
        <Field
          label="Password"
          type="password"
          autoComplete="current-password"
          error={errors.password?.message}
          {...form.register('password', { required: 'Enter your password.' })}
        />
        <button type="submit" className="btn btn-primary" disabled={isSubmitting}>
          {isSubmitting ? 'Logging in…' : 'Log in'}
        </button>
      </form>
      <Providers next={next} />
      <p>
        New to souk? <Link to={`/register${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`}>Create an account</Link>
      </p>
    </section>
  );
}
