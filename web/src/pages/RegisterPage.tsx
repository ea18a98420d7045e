import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { Link, useNavigate, useSearchParams } from 'react-router';
import * as api from '../api/endpoints';
import { isApiError } from '../api/errors';
import { useAuth } from '../auth/AuthProvider';
import { ErrorMessage } from '../components/ErrorMessage';
import { Field } from '../components/Field';
import { applyProblem } from '../forms/problem';
import { useTitle } from '../lib/useTitle';
import { safeNext } from './nextPath';

interface RegisterForm {
  name: string;
  email: string;
  password: string;
  confirm: string;
}

export function RegisterPage() {
  useTitle('Create an account');
  const [sp] = useSearchParams();
  const next = safeNext(sp.get('next'));
  const navigate = useNavigate();
  const { signIn } = useAuth();
  const [error, setError] = useState<unknown>(null);
  const [extra, setExtra] = useState<string[]>([]);
  const form = useForm<RegisterForm>({ defaultValues: { name: '', email: '', password: '', confirm: '' } });
  const { errors, isSubmitting } = form.formState;

  const onSubmit = form.handleSubmit(async (v) => {
    setError(null);
    setExtra([]);
    try {
      await api.register(v.email.trim(), v.password, v.name.trim());
    } catch (e) {
      if (isApiError(e) && e.status === 409) {
        form.setError('email', { type: 'server', message: 'An account with this email already exists.' }, { shouldFocus: true });
        return;
      }
      setExtra(applyProblem(e, form.setError, ['name', 'email', 'password']));
      setError(e);
      return;
    }
    try {
      signIn(await api.login(v.email.trim(), v.password));
      navigate(next, { replace: true });
    } catch (e) {
      setError(e);
    }
  });

  return (
    <section className="page narrow" aria-labelledby="register-title">
      <h1 id="register-title">Create an account</h1>
      <ErrorMessage error={error} extra={extra} />
      <form onSubmit={onSubmit} noValidate className="stack-form">
        <Field label="Name (optional)" autoComplete="name" error={errors.name?.message} {...form.register('name', { maxLength: { value: 100, message: 'At most 100 characters.' } })} />
        <Field
          label="Email"
          type="email"
          autoComplete="email"
          error={errors.email?.message}
          {...form.register('email', {
            required: 'Enter your email.',
            pattern: { value: /^[^\s@]+@[^\s@]+$/, message: 'Enter an email address such as ada@example.com.' },
          })}
        />
        <Field
          label="Password"
          type="password"
          autoComplete="new-password"
          hint="8 to 128 characters."
          error={errors.password?.message}
          {...form.register('password', {
            required: 'Choose a password.',
            minLength: { value: 8, message: 'Use at least 8 characters.' },
            maxLength: { value: 128, message: 'Use at most 128 characters.' },
          })}
        />
        <Field
          label="Repeat the password"
          type="password"
          autoComplete="new-password"
          error={errors.confirm?.message}
          {...form.register('confirm', {
            validate: (c, all) => c === all.password || 'The passwords differ.',
          })}
        />
        <button type="submit" className="btn btn-primary" disabled={isSubmitting}>
          {isSubmitting ? 'Creating your account…' : 'Create account'}
        </button>
      </form>
      <p>
        Already have an account? <Link to={`/login${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`}>Log in</Link>
      </p>
    </section>
  );
}
