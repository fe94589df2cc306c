import { randomUUID } from 'node:crypto';
import { schedulerv1, type FrameworkInfo } from '@ippc/proto';
import { newFrameworkEntry, now, type FrameworkConnection, type FrameworkEntry, type MasterContext } from '../model.js';
import { validateFrameworkInfo, validateFrameworkUpdate, validateSchedulerCall } from '../validation/framework.js';
import { invalidCall } from './calls.js';

const { Call_Type, Event_Type } = schedulerv1;

// SUBSCRIBE (Mesos's `Master::subscribe`): a new framework, a known one coming back (failover of
// its scheduler, or of the master), or a removed one (refused with an ERROR event).

/**
 * SUBSCRIBE. Returns the framework id and the stream id the framework must send with its calls.
 * Throws CALL_INVALID with Mesos's message for a malformed call. A framework that was removed
 * gets an ERROR event ("Framework has been removed") and the stream ends, as in Mesos.
 */
export function subscribe(m: MasterContext, call: schedulerv1.Call, conn: FrameworkConnection): { frameworkId: string; streamId: string } {
  const callErr = validateSchedulerCall(call);
  if (callErr) throw invalidCall(m, 'SUBSCRIBE', callErr);
  if (call.type !== Call_Type.SUBSCRIBE) throw invalidCall(m, 'SUBSCRIBE', 'Expecting a SUBSCRIBE call on Subscribe; send other calls with Send');
  const info = call.subscribe!.frameworkInfo!;
  const infoErr = validateFrameworkInfo(info);
  if (infoErr) throw invalidCall(m, 'SUBSCRIBE', infoErr);
  const streamId = randomUUID();
  const requested = info.id?.value;

  if (requested && m.completedFrameworks.some((f) => f.id === requested)) {
    conn.send({ type: Event_Type.ERROR, error: { message: 'Framework has been removed' } });
    conn.close();
    return { frameworkId: requested, streamId };
  }

  const known = requested ? m.frameworks.get(requested) : undefined;
  const f = known ? resubscribe(m, known, info) : addFramework(m, info, requested);
  f.conn = conn;
  f.streamId = streamId;
  f.unregisteredTime = undefined;
  conn.send({ type: Event_Type.SUBSCRIBED, subscribed: { frameworkId: { value: f.id }, heartbeatIntervalSeconds: m.settings.heartbeatSeconds } });
  f.heartbeat = setInterval(() => f.conn?.send({ type: Event_Type.HEARTBEAT }), m.settings.heartbeatSeconds * 1000);
  f.heartbeat.unref();
  if (known) m.observers.frameworkUpdated(f);
  else m.observers.frameworkAdded(f);
  m.changed();
  m.scheduleAllocation();
  return { frameworkId: f.id, streamId };
}

/** A framework the master knows subscribes again; the scheduler it had, if any, is failed over. */
function resubscribe(m: MasterContext, f: FrameworkEntry, info: FrameworkInfo): FrameworkEntry {
  const updateErr = validateFrameworkUpdate(f.info, info);
  if (updateErr) throw invalidCall(m, 'SUBSCRIBE', updateErr);
  if (f.conn) {
    // Another scheduler instance took over this framework (Mesos: failover).
    const old = f.conn;
    f.conn = undefined;
    if (f.heartbeat) clearInterval(f.heartbeat);
    old.send({ type: Event_Type.ERROR, error: { message: 'Framework failed over' } });
    old.close();
  }
  if (f.failoverTimer) clearTimeout(f.failoverTimer);
  f.failoverTimer = undefined;
  f.info = { ...info, id: { value: f.id }, user: f.info.user, checkpoint: f.info.checkpoint };
  f.reregisteredTime = now();
  f.recovered = false;
  m.log.info({ frameworkId: f.id, name: info.name }, 'framework re-subscribed');
  return f;
}

/** A framework new to this master: a new id, or the one it asks for (after a master failover). */
function addFramework(m: MasterContext, info: FrameworkInfo, requested: string | undefined): FrameworkEntry {
  const id = requested ?? `${m.id}-${String(m.sequence.framework++).padStart(4, '0')}`;
  const f = newFrameworkEntry(id, { ...info, id: { value: id } }, false);
  if (requested) f.reregisteredTime = now();
  m.frameworks.set(id, f);
  m.log.info({ frameworkId: id, name: info.name }, requested ? 'framework subscribed with a known id (master failover)' : 'framework subscribed');
  return f;
}
