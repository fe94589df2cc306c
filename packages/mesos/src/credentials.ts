import { timingSafeEqual } from 'node:crypto';
import { MesosError } from './errors.js';

// Mesos's credentials (docs "Authentication", `--credentials`): principals and their secrets, in
// a file as JSON (`{"credentials": [{"principal": "p", "secret": "s"}]}`) or as text, one
// `principal secret` pair per line. HTTP Basic authentication checks a request against them.

export interface Credential {
  principal: string;
  secret: string;
}

/** The credentials in a file's text (JSON or lines); throws CREDENTIALS_INVALID saying what is wrong. */
export function parseCredentials(text: string): Credential[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return fromJson(trimmed);
  const out: Credential[] = [];
  for (const [i, line] of trimmed.split('\n').entries()) {
    const l = line.trim();
    if (l === '' || l.startsWith('#')) continue;
    const parts = l.split(/\s+/);
    if (parts.length !== 2) throw new MesosError('CREDENTIALS_INVALID', `credentials line ${i + 1}: expected 'principal secret', got ${parts.length} word(s)`);
    out.push({ principal: parts[0]!, secret: parts[1]! });
  }
  if (out.length === 0) throw new MesosError('CREDENTIALS_INVALID', 'the credentials file holds no credential');
  return out;
}

function fromJson(text: string): Credential[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new MesosError('CREDENTIALS_INVALID', `credentials are not valid JSON: ${(err as Error).message}`);
  }
  const list = (doc as { credentials?: unknown }).credentials;
  if (!Array.isArray(list) || list.length === 0) {
    throw new MesosError('CREDENTIALS_INVALID', 'credentials JSON must be {"credentials": [{"principal": "...", "secret": "..."}]} with at least one entry');
  }
  return list.map((c, i) => {
    const { principal, secret } = (c ?? {}) as { principal?: unknown; secret?: unknown };
    if (typeof principal !== 'string' || principal === '' || typeof secret !== 'string' || secret === '') {
      throw new MesosError('CREDENTIALS_INVALID', `credentials[${i}] needs a non-empty "principal" and "secret"`);
    }
    return { principal, secret };
  });
}

/**
 * The principal an `Authorization: Basic ...` header authenticates against `credentials`, or
 * undefined (no Basic header, malformed, unknown principal or wrong secret). Secrets are compared
 * in constant time.
 */
export function basicPrincipal(credentials: readonly Credential[], header: string | undefined): string | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  const principal = decoded.slice(0, colon);
  const given = Buffer.from(decoded.slice(colon + 1));
  const match = credentials.find((c) => c.principal === principal);
  if (!match) return undefined;
  const want = Buffer.from(match.secret);
  return given.length === want.length && timingSafeEqual(given, want) ? principal : undefined;
}
