// problem+json `errors` -> react-hook-form field errors.
import type { FieldValues, Path, UseFormSetError } from 'react-hook-form';
import { isApiError } from '../api/errors';

function capitalise(s: string): string {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

/**
 * Puts each `errors[].field` of an API error on the form field of that name
 * (or of its alias: the API's `price_cents` is the form's `price`), focusing
 * the first. Returns the messages that belong to no field of the form
 * ("body", "items[0]", ...) so the form can show them above itself.
 */
export function applyProblem<T extends FieldValues>(
  error: unknown,
  setError: UseFormSetError<T>,
  fields: readonly Path<T>[],
  aliases: Record<string, Path<T>> = {},
): string[] {
  if (!isApiError(error)) return [];
  const unmatched: string[] = [];
  let first = true;
  for (const fe of error.errors) {
    const target = (aliases[fe.field] ?? fe.field) as Path<T>;
    if (fields.includes(target)) {
      setError(target, { type: 'server', message: capitalise(fe.message) }, { shouldFocus: first });
      first = false;
    } else {
      unmatched.push(`${fe.field}: ${fe.message}`);
    }
  }
  return unmatched;
}
