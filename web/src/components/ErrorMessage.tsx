import { humanMessage, isApiError } from '../api/errors';

/** An API or page error as a sentence, with the request id for support. */
export function ErrorMessage({ error, extra, title }: { error: unknown; extra?: string[]; title?: string }) {
  if (!error) return null;
  const requestId = isApiError(error) ? error.requestId : null;
  return (
    <div className="alert alert-error" role="alert">
      {title && <strong className="alert-title">{title} </strong>}
      <span>{humanMessage(error)}</span>
      {extra && extra.length > 0 && (
        <ul className="alert-list">
          {extra.map((m) => (
            <li key={m}>{m}</li>
          ))}
        </ul>
      )}
      {requestId && (
        <p className="request-id">
          If you contact support, quote reference <code>{requestId}</code>.
        </p>
      )}
    </div>
  );
}
