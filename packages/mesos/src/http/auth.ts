import type { IncomingMessage } from 'node:http';
import { bearerAuthorizes, type AuthConfig, type Route } from '@ippc/core';
import { basicPrincipal, type Credential } from '../credentials.js';
import { HttpAnswer, sendText } from './media.js';

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

/** A read-only route behind the credential check (Mesos's `--authenticate_http_readonly`): a caller without valid credentials gets the 401. */
export function guarded(access: HttpAccess, route: Route): Route {
  return (req, res, url) => {
    try {
      authenticate(access, req);
    } catch (err) {
      if (!(err instanceof HttpAnswer)) throw err;
      sendText(res, err.status, err.message, err.headers);
      return undefined;
    }
    return route(req, res, url);
  };
}
