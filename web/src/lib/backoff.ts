/**
 * Delay before poll number `attempt` (0-based): 500 ms doubling up to `max`.
 * Used to follow an order from pending to confirmed/rejected.
 */
export function backoffDelay(attempt: number, base = 500, max = 5000): number {
  return Math.min(max, base * 2 ** Math.max(0, attempt));
}
