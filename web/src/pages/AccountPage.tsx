import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { Link, useNavigate } from 'react-router';
import * as api from '../api/endpoints';
import { isApiError } from '../api/errors';
import { useAuth } from '../auth/AuthProvider';
import { ErrorMessage } from '../components/ErrorMessage';
import { Field } from '../components/Field';
import { applyProblem } from '../forms/problem';
import { formatDate } from '../lib/format';
import { useTitle } from '../lib/useTitle';

function ProfileForm() {
  const { user, setUser } = useAuth();
  const [error, setError] = useState<unknown>(null);
  const [extra, setExtra] = useState<string[]>([]);
  const [saved, setSaved] = useState(false);
  const form = useForm<{ name: string }>({ defaultValues: { name: user?.name ?? '' } });
  const { errors, isSubmitting } = form.formState;
  if (!user) return null;
  const onSubmit = form.handleSubmit(async (v) => {
    setError(null);
    setSaved(false);
    try {
      setUser(await api.updateUser(user.id, { name: v.name.trim() }));
      setSaved(true);
    } catch (e) {
      setExtra(applyProblem(e, form.setError, ['name']));
      setError(e);
    }
  });
  return (
    <form onSubmit={onSubmit} noValidate className="stack-form card" aria-labelledby="profile-title">
      <h2 id="profile-title">Profile</h2>
      <p>
        Email: <strong>{user.email}</strong>
      </p>
      <ErrorMessage error={error} extra={extra} />
      <Field label="Name" autoComplete="name" error={errors.name?.message} {...form.register('name', { maxLength: { value: 100, message: 'At most 100 characters.' } })} />
      <div role="status" aria-live="polite">
        {saved && <p className="alert alert-success">Your name was saved.</p>}
      </div>
      <button type="submit" className="btn btn-primary" disabled={isSubmitting}>
        Save name
      </button>
    </form>
  );
}

interface PasswordForm {
  current_password: string;
  password: string;
  confirm: string;
}

function PasswordChange() {
  const { user, signOut } = useAuth();
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const [extra, setExtra] = useState<string[]>([]);
  const form = useForm<PasswordForm>({ defaultValues: { current_password: '', password: '', confirm: '' } });
  const { errors, isSubmitting } = form.formState;
  if (!user) return null;
  const onSubmit = form.handleSubmit(async (v) => {
    setError(null);
    try {
      await api.updateUser(user.id, { current_password: v.current_password, password: v.password });
      // A new password ends every session, this one included.
      await signOut();
      navigate('/login?changed=1', { replace: true });
    } catch (e) {
      if (isApiError(e) && e.status === 400 && e.errors.length === 0) {
        form.setError('current_password', { type: 'server', message: 'The current password is not right.' }, { shouldFocus: true });
        return;
      }
      setExtra(applyProblem(e, form.setError, ['current_password', 'password']));
      setError(e);
    }
  });
  return (
    <form onSubmit={onSubmit} noValidate className="stack-form card" aria-labelledby="password-title">
      <h2 id="password-title">Password</h2>
      <ErrorMessage error={error} extra={extra} />
      <Field
        label="Current password"
        type="password"
        autoComplete="current-password"
        error={errors.current_password?.message}
        {...form.register('current_password', { required: 'Enter your current password.' })}
      />
      <Field
        label="New password"
        type="password"
        autoComplete="new-password"
        hint="8 to 128 characters. You will be logged out everywhere."
        error={errors.password?.message}
        {...form.register('password', {
          required: 'Choose a new password.',
          minLength: { value: 8, message: 'Use at least 8 characters.' },
          maxLength: { value: 128, message: 'Use at most 128 characters.' },
        })}
      />
      <Field
        label="Repeat the new password"
        type="password"
        autoComplete="new-password"
        error={errors.confirm?.message}
        {...form.register('confirm', { validate: (c, all) => c === all.password || 'The passwords differ.' })}
      />
      <button type="submit" className="btn btn-primary" disabled={isSubmitting}>
        Change password
      </button>
    </form>
  );
}

export function AccountPage() {
  useTitle('Your account');
  const { user, signOut } = useAuth();
  const navigate = useNavigate();
  if (!user) return null;
  return (
    <section className="page" aria-labelledby="account-title">
      <h1 id="account-title">Your account</h1>
      <p className="muted">Member since {formatDate(user.created_at)}.</p>
      <ul className="inline-links">
        <li>
          <Link to="/account/orders">Your orders</Link>
        </li>
        <li>
          <Link to="/account/notifications">Notifications</Link>
        </li>
      </ul>
      <div className="two-columns">
        <ProfileForm />
        <PasswordChange />
      </div>
      <button
        type="button"
        className="btn"
        onClick={async () => {
          await signOut();
          navigate('/', { replace: true });
        }}
      >
        Log out
      </button>
    </section>
  );
}
