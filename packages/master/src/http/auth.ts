import type { IncomingMessage } from 'node:http';
import { bearerAuthorizes, type AuthConfig } from '@ippc/core';
import { HttpAnswer } from './media.js';

// Who may call the master's v1 HTTP APIs: the same shared secret as its gRPC API, as a bearer
// token, unless the master runs with authentication explicitly disabled. A missing or wrong one
// is a 401 with a challenge, and nothing of the request reaches the master.

export function checkBearer(auth: AuthConfig, req: IncomingMessage): void {
  if (bearerAuthorizes(auth, req.headers.authorization)) return;
  throw new HttpAnswer(401, 'Missing or wrong credentials: send the cluster token as "Authorization: Bearer <token>"', {
    'www-authenticate': 'Bearer realm="mesos"',
  });
}
