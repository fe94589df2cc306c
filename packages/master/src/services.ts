import * as grpc from '@grpc/grpc-js';
import { isIppcError, messageOf, toServiceError, type Logger } from '@ippc/core';
import { agentv1, schedulerv1 } from '@ippc/proto';
import { MasterError } from './errors.js';
import type { AgentConnection, FrameworkConnection, Master } from './master.js';

// The gRPC edges of the master: the framework API (Scheduler) and the agents' channel (Agents).
// Both translate between streams and the Master's connections and map MasterError to gRPC status
// (toServiceError keeps the ippc error code in a trailer).

type Call = schedulerv1.Call;
type Event = schedulerv1.Event;

/** The framework API. SUBSCRIBE answers with initial metadata `mesos-stream-id`. */
export function schedulerService(master: Master, log: Logger): schedulerv1.SchedulerServer {
  return {
    subscribe(call: grpc.ServerWritableStream<Call, Event>) {
      // Events produced while subscribing wait until the stream id has gone out as metadata.
      const queue: Event[] = [];
      let open = false;
      let closed = false;
      const conn: FrameworkConnection = {
        send: (event) => {
          if (closed) return;
          if (!open) queue.push(event);
          else call.write(event);
        },
        close: () => {
          if (closed) return;
          closed = true;
          if (!open) {
            open = true;
            for (const e of queue.splice(0)) call.write(e);
          }
          call.end();
        },
      };
      let ids: { frameworkId: string; streamId: string };
      try {
        ids = master.subscribe(call.request, conn);
      } catch (err) {
        if (!isIppcError(err)) log.error({ err }, 'subscribe failed');
        call.emit('error', toServiceError(err));
        return;
      }
      const md = new grpc.Metadata();
      md.set('mesos-stream-id', ids.streamId);
      call.sendMetadata(md);
      if (!closed) {
        open = true;
        for (const e of queue.splice(0)) call.write(e);
      }
      call.on('cancelled', () => {
        closed = true;
        master.frameworkDisconnected(ids.frameworkId, ids.streamId);
      });
      call.on('close', () => master.frameworkDisconnected(ids.frameworkId, ids.streamId));
    },

    send(call: grpc.ServerUnaryCall<Call, schedulerv1.Response>, callback: grpc.sendUnaryData<schedulerv1.Response>) {
      const streamId = call.metadata.get('mesos-stream-id')[0];
      try {
        master.handleCall(call.request, typeof streamId === 'string' ? streamId : undefined);
        callback(null, {});
      } catch (err) {
        if (!isIppcError(err)) log.error({ err }, 'call failed');
        callback(toServiceError(err));
      }
    },
  };
}

/** The agents' channel: one bidirectional stream per agent session. */
export function agentsService(master: Master, log: Logger): agentv1.AgentsServer {
  return {
    connect(call: grpc.ServerDuplexStream<agentv1.AgentMessage, agentv1.MasterMessage>) {
      let agentId: string | undefined;
      let ended = false;
      const conn: AgentConnection = {
        send: (message) => {
          if (!ended) call.write(message);
        },
        close: (reason) => {
          if (ended) return;
          if (reason) call.write({ message: { $case: 'shutdownAgent', value: { message: reason } } });
          ended = true;
          call.end();
        },
      };
      const refuse = (err: unknown) => {
        if (ended) return;
        ended = true;
        const message = messageOf(err);
        log.warn({ agentId, err: message }, 'agent refused');
        call.write({ message: { $case: 'shutdownAgent', value: { message } } });
        call.emit('error', toServiceError(err));
      };
      const gone = () => {
        if (agentId) master.agentDisconnected(agentId, conn);
      };
      call.on('data', (msg: agentv1.AgentMessage) => {
        if (ended) return;
        try {
          switch (msg.message?.$case) {
            case 'registerAgent':
              agentId = master.registerAgent(msg.message.value, conn);
              break;
            case 'reregisterAgent':
              agentId = master.reregisterAgent(msg.message.value, conn);
              break;
            case 'statusUpdate':
              if (!agentId) throw new MasterError('AGENT_INVALID', 'Agent must (re-)register before sending status updates');
              master.statusUpdate(agentId, conn, msg.message.value);
              break;
            case 'executorToFramework':
              master.executorMessage(agentId ?? '', conn, msg.message.value);
              break;
            case 'exitedExecutor':
              master.executorExited(agentId ?? '', conn, msg.message.value);
              break;
            default:
              throw new MasterError('AGENT_INVALID', 'Empty or unknown agent message: send register_agent, reregister_agent or status_update');
          }
        } catch (err) {
          // Before registration nothing is known: refuse the session. After it, drop the bad message.
          if (!agentId) refuse(err);
          else log.warn({ agentId, err: messageOf(err) }, 'dropping a bad message from an agent');
        }
      });
      call.on('end', () => {
        gone();
        if (!ended) {
          ended = true;
          call.end();
        }
      });
      call.on('error', () => gone());
      call.on('cancelled', () => {
        ended = true;
        gone();
      });
    },
  };
}
