import { status, type ServerWritableStream } from '@grpc/grpc-js';
import type { isolationv1 as pb } from '@ippc/proto';
import { deltaToPb, snapshotToPb } from '../wire.js';
import type { RpcContext } from './handlers.js';

// The Watch stream: a snapshot, then every delta in order. A stream whose backlog grows past the
// limit is dropped (the agent reconnects for a fresh snapshot); an agent's open streams mark it
// connected.

export function watch(ctx: RpcContext, call: ServerWritableStream<pb.WatchRequest, pb.WatchEvent>): void {
  const { store, log } = ctx;
  const agentId = call.request.agentId ?? '';
  ctx.requests.inc({ method: 'Watch', code: 'OK' });
  let closed = false;
  const { snapshot, unsubscribe } = store.watch((delta) => {
    if (closed) return;
    if (call.writableLength > ctx.maxBacklog) {
      log.warn({ agentId, backlog: call.writableLength }, 'watch stream too slow; dropping it (the agent resyncs)');
      stop();
      // grpc-js turns an 'error' on a server stream into the call's status.
      call.emit('error', Object.assign(new Error('watch backlog too large: reconnect for a new snapshot'), { code: status.RESOURCE_EXHAUSTED }));
      return;
    }
    call.write({ event: { $case: 'delta', value: deltaToPb(delta) } });
  });
  const stop = () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    ctx.openStreams.delete(call);
    if (agentId) store.setConnected(agentId, -1);
  };
  ctx.openStreams.add(call);
  if (agentId) store.setConnected(agentId, 1);
  call.write({ event: { $case: 'snapshot', value: snapshotToPb(snapshot) } });
  call.on('cancelled', stop);
  call.on('close', stop);
  call.on('error', stop);
}
