import { schedulerv1 } from '@ippc/proto';
import { MasterError } from '../errors.js';
import type { FrameworkEntry, MasterContext } from '../model.js';
import { accept } from '../offers/accept.js';
import { decline } from '../offers/offers.js';
import { messageExecutor, shutdownExecutor } from '../tasks/executor-calls.js';
import { acknowledge, kill, reconcile } from '../tasks/task-calls.js';
import { validateSchedulerCall } from '../validation/framework.js';
import { removeFramework } from './lifecycle.js';

const { Call_Type } = schedulerv1;

// Every scheduler call but SUBSCRIBE: checked against the framework's subscription and stream id
// (Mesos's answers for a missing or wrong `Mesos-Stream-Id`), then handed to the part that owns it.

/** CALL_INVALID with Mesos's message, counted per call type for `/metrics`. */
export function invalidCall(m: MasterContext, kind: string, message: string): MasterError {
  m.counters.invalidCalls.set(kind, (m.counters.invalidCalls.get(kind) ?? 0) + 1);
  return new MasterError('CALL_INVALID', message);
}

/** The subscribed framework a call is for; throws Mesos's errors otherwise. */
function subscribedFramework(m: MasterContext, frameworkId: string, streamId: string | undefined): FrameworkEntry {
  const f = m.frameworks.get(frameworkId);
  if (!f) {
    if (m.completedFrameworks.some((c) => c.id === frameworkId)) throw new MasterError('FRAMEWORK_REMOVED', `Framework ${frameworkId} has been removed`);
    throw new MasterError('FRAMEWORK_UNKNOWN', `Framework ${frameworkId} is unknown: subscribe first`);
  }
  if (!f.conn || !f.streamId) throw new MasterError('FRAMEWORK_NOT_SUBSCRIBED', `Framework ${frameworkId} is not subscribed: subscribe again`);
  if (!streamId) throw new MasterError('STREAM_MISMATCH', "All non-subscribe calls should include the 'Mesos-Stream-Id' header");
  if (streamId !== f.streamId) {
    throw new MasterError(
      'STREAM_MISMATCH',
      `The stream ID '${streamId}' included in this request didn't match the stream ID currently associated with framework ID ${frameworkId}`,
    );
  }
  return f;
}

/**
 * Any call but SUBSCRIBE. `streamId` is the `mesos-stream-id` the caller sent. Outcomes arrive as
 * events; throws MasterError for what Mesos answers with an HTTP error.
 */
export function handleCall(m: MasterContext, call: schedulerv1.Call, streamId: string | undefined): void {
  const kind = call.type === undefined ? 'UNKNOWN' : (schedulerv1.call_TypeToJSON(call.type) ?? 'UNKNOWN');
  const callErr = validateSchedulerCall(call);
  if (callErr) throw invalidCall(m, kind, callErr);
  if (call.type === Call_Type.SUBSCRIBE) throw invalidCall(m, kind, 'SUBSCRIBE goes through Subscribe, which streams the events');
  const f = subscribedFramework(m, call.frameworkId?.value ?? '', streamId);
  switch (call.type) {
    case Call_Type.TEARDOWN:
      removeFramework(m, f, `Framework ${f.id} removed`);
      return;
    case Call_Type.ACCEPT:
      accept(m, f, call.accept!);
      return;
    case Call_Type.DECLINE:
      decline(
        m,
        f,
        call.decline!.offerIds.map((o) => o.value ?? ''),
        call.decline!.filters?.refuseSeconds,
      );
      return;
    case Call_Type.REVIVE:
      f.filters.clear();
      f.suppressed = false;
      m.scheduleAllocation();
      return;
    case Call_Type.SUPPRESS:
      f.suppressed = true;
      return;
    case Call_Type.KILL:
      kill(m, f, call.kill!);
      return;
    case Call_Type.SHUTDOWN:
      shutdownExecutor(m, f, call.shutdown!);
      return;
    case Call_Type.MESSAGE:
      messageExecutor(m, f, call.message!);
      return;
    case Call_Type.REQUEST:
      // Mesos hands it to the allocator, whose built-in one ignores it; so does ippc's.
      m.counters.messagesResourceRequest++;
      m.log.debug({ frameworkId: f.id, requests: call.request!.requests.length }, "resource request ignored, as by Mesos's allocator");
      return;
    case Call_Type.ACKNOWLEDGE:
      acknowledge(m, f, call.acknowledge!);
      return;
    case Call_Type.RECONCILE:
      reconcile(
        m,
        f,
        call.reconcile!.tasks.map((t) => ({ taskId: t.taskId?.value ?? '', agentId: t.agentId?.value })),
      );
      return;
    default:
      throw new MasterError('CALL_UNSUPPORTED', `Call ${kind} is not supported by ippc`);
  }
}
