import { useEffect, useRef, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import * as api from '../api/endpoints';
import { useAuth } from '../auth/AuthProvider';
import { ErrorMessage } from '../components/ErrorMessage';
import { Loading } from '../components/Loading';
import { useTitle } from '../lib/useTitle';
import { OAUTH_NEXT_KEY } from './LoginPage';
import { safeNext } from './nextPath';

const OAUTH_ERRORS: Record<string, string> = {
  access_denied: 'You declined the sign-in at the provider.',
  invalid_request: 'The sign-in request was not valid. Please try again.',
  server_error: 'The identity provider had a problem. Please try again later.',
  temporarily_unavailable: 'The identity provider is busy. Please try again in a moment.',
};

export function OAuthCallbackPage() {
  useTitle('Logging in');
  const navigate = useNavigate();
  const { signIn } = useAuth();
  const started = useRef(false);
  const [error, setError] = useState<unknown>(null);
  const [oauthError, setOauthError] = useState<string | null>(null);

  useEffect(() => {
    if (started.current) return; // the code is single use
    started.current = true;
    const hash = new URLSearchParams(window.location.hash.slice(1));
    // The code must not stay in the address bar or the history.
    window.history.replaceState(null, '', window.location.pathname);
    const next = safeNext(sessionStorage.getItem(OAUTH_NEXT_KEY));
    sessionStorage.removeItem(OAUTH_NEXT_KEY);
    const code = hash.get('code');
    const err = hash.get('error');
    if (err || !code) {
      setOauthError(OAUTH_ERRORS[err ?? ''] ?? `The sign-in did not complete (${err ?? 'no code was returned'}).`);
      return;
    }
    api
      .oauthExchange(code)
      .then((pair) => {
        signIn(pair);
        navigate(next, { replace: true });
      })
      .catch(setError);
  }, [navigate, signIn]);

  return (
    <section className="page narrow" aria-labelledby="cb-title">
      <h1 id="cb-title">Logging in</h1>
      {!error && !oauthError && <Loading label="Completing the sign-in…" />}
      {oauthError && (
        <div className="alert alert-error" role="alert">
          {oauthError}
        </div>
      )}
      <ErrorMessage error={error} />
      {(error || oauthError) && (
        <p>
          <Link to="/login">Back to log in</Link>
        </p>
      )}
    </section>
  );
}
