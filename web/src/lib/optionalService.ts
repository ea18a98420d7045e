import { useQuery } from '@tanstack/react-query';
import { isApiError } from '../api/errors';

export type ServiceState = 'checking' | 'available' | 'absent';

/**
 * Whether a route of a service that may not be deployed yet answers: 404 or
 * 503 (or 501) mean absent; anything else that is an answer means present.
 */
export function useOptionalService(key: string, probe: () => Promise<unknown>, enabled = true): ServiceState {
  const q = useQuery({
    queryKey: ['probe', key],
    queryFn: async () => {
      try {
        await probe();
        return true;
      } catch (e) {
        if (isApiError(e) && e.isMissingService) return false;
        if (isApiError(e) && e.status === 0) throw e;
        return true; // it answered (403, 400...): it exists
      }
    },
    enabled,
    staleTime: 5 * 60_000,
    retry: false,
  });
  if (!enabled || q.isPending) return 'checking';
  return q.data ? 'available' : 'absent';
}
