// API failures as one type: RFC 9457 problem details from the gateway and
// services, or a network failure (status 0).

export interface FieldError {
  field: string;
  message: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  instance?: string;
  request_id?: string;
  errors?: FieldError[];
}

export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly requestId: string | null;
  readonly errors: FieldError[];
  readonly retryAfter: number | null;

  constructor(
    status: number,
    problem: Problem = {},
    requestId: string | null = null,
    retryAfter: number | null = null,
  ) {
    super(problem.detail || problem.title || `request failed (${status})`);
    this.name = 'ApiError';
    this.status = status;
    this.title = problem.title ?? '';
    this.detail = problem.detail ?? '';
    this.requestId = problem.request_id ?? requestId;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.retryAfter = retryAfter;
  }

  /** The service behind this route is not deployed (or not there yet). */
  get isMissingService(): boolean {
    return this.status === 404 || this.status === 503 || this.status === 501;
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}

function capitalise(s: string): string {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

/** A sentence a person understands, for any error. */
export function humanMessage(e: unknown): string {
  if (!isApiError(e)) {
    return 'Something went wrong in the page. Reload it and try again.';
  }
  switch (e.status) {
    case 0:
      return 'We could not reach souk. Check your connection and try again.';
    case 400:
      return e.errors.length > 0
        ? 'Some fields need your attention.'
        : capitalise(e.detail) || 'The request was not accepted.';
    case 401:
      return 'Please log in to continue.';
    case 403:
      return 'You do not have permission to do this.';
    case 404:
      return 'We could not find what you were looking for.';
    case 409:
      return capitalise(e.detail) || 'This conflicts with the current state; reload and try again.';
    case 413:
      return 'That is too large to send.';
    case 422:
      return capitalise(e.errors[0]?.message ?? e.detail) || 'This cannot be processed.';
    case 429:
      return e.retryAfter != null
        ? `Too many attempts. Please wait ${e.retryAfter} seconds and try again.`
        : 'Too many attempts. Please wait a moment and try again.';
    case 502:
    case 503:
    case 504:
      return 'This part of souk is temporarily unavailable. Please try again in a moment.';
    default:
      return e.status >= 500
        ? 'Something went wrong on our side. Please try again in a moment.'
        : capitalise(e.detail) || 'The request failed.';
  }
}
