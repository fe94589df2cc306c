import { isIppcError } from '@ippc/core';

/** Prints `value` as JSON when `json`, else calls `text` to print it for people. */
export function emit(json: boolean | undefined, value: unknown, text: () => string): void {
  console.log(json ? JSON.stringify(value, null, 2) : text());
}

/** One place that turns any error into the CLI's exit: a code and a message, as JSON with --json. */
export function fail(err: unknown, json: boolean): never {
  const body = isIppcError(err) ? err.toJSON() : describeError(err);
  if (json) console.log(JSON.stringify({ error: body }, null, 2));
  else console.error(`ippc: ${body.code}: ${body.message}`);
  process.exit(1);
}

/** A non-ippc error as code and message; the Docker daemon not answering says what to do. */
export function describeError(err: unknown): { code: string; message: string } {
  const e = err as NodeJS.ErrnoException & { address?: string };
  const message = e?.message ?? String(err);
  // The only unix socket the CLI connects to is the Docker daemon's (components answer over TCP).
  if ((e?.code === 'ECONNREFUSED' || e?.code === 'ENOENT' || e?.code === 'EACCES') && e.syscall === 'connect' && e.address?.startsWith('/')) {
    return {
      code: 'DOCKER_UNAVAILABLE',
      message: `the Docker daemon does not answer (${message}); start it (scripts/setup does) and check with 'ippc doctor'`,
    };
  }
  return { code: 'INTERNAL', message };
}
