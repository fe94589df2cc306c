import type { DockerContext } from './context.js';

/** Stops watching and copying logs, leaving the containers running (a new instance's recover() takes them over). */
export async function close(ctx: DockerContext): Promise<void> {
  if (ctx.closed) return;
  ctx.closed = true;
  ctx.daemonWatch?.close();
  const entries = [...ctx.live.values()];
  for (const e of entries) e.abort.abort();
  await Promise.all(
    entries.map(async (e) => {
      await e.logs?.close();
      await e.exiting;
    }),
  );
}
