// Reads (never verifies: the servers do) an access token's claims.
export interface Claims {
  sub: string;
  email?: string;
  roles?: string[];
  scope?: string;
  exp?: number;
  iat?: number;
}

function b64urlDecode(s: string): string {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

export function decodeJwt(token: string): Claims | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const c = JSON.parse(b64urlDecode(parts[1])) as Claims;
    return c && typeof c === 'object' && typeof c.sub === 'string' ? c : null;
  } catch {
    return null;
  }
}
