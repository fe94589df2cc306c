import type { IncomingMessage } from 'node:http';
import { bearerAuthorizes, type AuthConfig } from '@ippc/core';
import { basicPrincipal, type Credential } from '../credentials.js';
import { HttpAnswer } from './media.js';

// Who may call a master's or agent's HTTP APIs, as Mesos offers it: HTTP Basic with a principal and secret
// from the credentials file (`--credentials`), or the cluster's shared secret as a bearer token;
// nothing when the daemon runs with authentication explicitly disabled (`--no_auth`). A missing
// or wrong credential is a 401 with the challenges (`WWW-Authenticate: Basic realm="mesos"`, as
// Mesos's basic authenticator answers), and nothing of the request reaches the daemon's core.

export interface HttpAccess {
  /** The cluster token, or `{ disabled: true }`. */
  auth: AuthConfig;
  /** Principals for HTTP Basic (Mesos's `--credentials`). */
  credentials?: readonly Credential[];
}

/** The caller: the Basic principal it authenticated as, none for the cluster token (or when auth is off). Throws a 401 otherwise. */
export function authenticate(access: HttpAccess, req: IncomingMessage): { principal?: string } {
  const header = req.headers.authorization;
  const principal = access.credentials ? basicPrincipal(access.credentials, header) : undefined;
  if (principal) return { principal };
  if (bearerAuthorizes(access.auth, header)) return {};
  const challenges = [...(access.credentials ? ['Basic realm="mesos"'] : []), 'Bearer realm="mesos"'];
  throw new HttpAnswer(
    401,
    `Missing or wrong credentials: send ${access.credentials ? 'a principal and secret of the credentials file (HTTP Basic) or ' : ''}the cluster token as "Authorization: Bearer <token>"`,
    { 'www-authenticate': challenges.join(', ') },
  );
}
