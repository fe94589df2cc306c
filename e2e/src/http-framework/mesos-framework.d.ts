// Types for the part of mesos-framework's public API (its README, "Scheduler") that the HTTP
// framework scenario uses; the package ships none. Declarations only: nothing here changes or wraps
// the library.
declare module 'mesos-framework' {
  import type { EventEmitter } from 'node:events';

  namespace mesosFramework {
    /** A protobuf.js (v5) message built from the library's bundled Mesos protos. */
    type Message = object;
    interface MessageClass {
      new (fields: Record<string, unknown>): Message;
    }

    /** The Mesos protos as the library builds them (`Mesos.getMesos()`). */
    interface MesosProtos {
      CommandInfo: MessageClass;
      ContainerInfo: MessageClass & { Type: { DOCKER: number; MESOS: number } };
      NetworkInfo: MessageClass;
    }

    /** A task the scheduler launches from its offers (README, "tasks"). */
    interface TaskOptions {
      priority?: number;
      instances?: number;
      commandInfo: Message;
      containerInfo?: Message;
      resources: { cpus: number; mem: number; disk: number; ports?: number; staticPorts?: number[] };
    }

    interface SchedulerOptions {
      masterUrl: string;
      port: number;
      frameworkName?: string;
      /** Seconds without a byte on the event stream before the library gives the master up. Default 10. */
      masterConnectionTimeout?: number;
      frameworkFailoverTimeout?: number;
      staticPorts?: boolean;
      restartStates?: string[];
      logging?: { path?: string; fileName?: string; level?: string };
      tasks?: Record<string, TaskOptions>;
    }

    class Scheduler extends EventEmitter {
      constructor(options: SchedulerOptions);
      subscribe(): void;
      kill(taskId: string, agentId: string): void;
      /** MESSAGE: `data`'s bytes, base64 in the call; emits `sent_message` once the master accepted it. */
      message(agentId: string, executorId: string, data: string): void;
      teardown(): void;
    }

    const Mesos: { getMesos(): MesosProtos };
  }

  export = mesosFramework;
}
