import * as grpc from '@grpc/grpc-js';
import { Backoff, clientOptions, type AuthConfig, type Logger } from '@ippc/core';
import { agentv1 } from '@ippc/proto';
import { AgentError } from '../errors.js';

// The agent's session with the master: one authenticated bidirectional stream, opened by the
// agent, re-opened with backoff whenever it breaks (Mesos's `--registration_backoff_factor`).
// Each new stream starts with register/reregister; updates flow only once the master answered.

export interface MasterLinkOptions {
  /** `host:port` of the master. */
  address: string;
  auth: AuthConfig;
  /** First reconnection delay; doubles up to 10 s. Default 1000 ms (Mesos: 1secs). */
  backoffMs?: number;
  /** The first message of every session: register (no id yet) or reregister. */
  hello(): agentv1.AgentMessage;
  onMessage(message: agentv1.MasterMessage): void;
  /** The session ended (it is re-opened unless fatal). */
  onDisconnected(): void;
  /** The master refused the agent for good (bad credentials, invalid registration, shutdown). */
  onFatal(err: AgentError): void;
  log: Logger;
}

export class MasterLink {
  private readonly client: InstanceType<typeof agentv1.AgentsClient>;
  private stream: grpc.ClientDuplexStream<agentv1.AgentMessage, agentv1.MasterMessage> | undefined;
  private registered = false;
  private stopped = false;
  private readonly backoff: Backoff;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: MasterLinkOptions) {
    this.backoff = new Backoff({ initialMs: options.backoffMs ?? 1000, maxMs: 10_000 });
    this.client = new agentv1.AgentsClient(
      options.address,
      grpc.credentials.createInsecure(),
      clientOptions(options.auth, {
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.keepalive_permit_without_calls': 1,
        'grpc.initial_reconnect_backoff_ms': 500,
        'grpc.max_reconnect_backoff_ms': 5_000,
      }),
    );
  }

  /** True while a session is open and the master has (re)registered the agent. */
  get isRegistered(): boolean {
    return this.registered;
  }

  start(): void {
    this.open();
  }

  private open(): void {
    if (this.stopped) return;
    const stream = this.client.connect();
    this.stream = stream;
    this.registered = false;
    stream.on('data', (msg: agentv1.MasterMessage) => {
      if (this.stream !== stream) return;
      const kind = msg.message?.$case;
      if (kind === 'agentRegistered' || kind === 'agentReregistered') {
        this.registered = true;
        this.backoff.reset();
      }
      if (kind === 'shutdownAgent') {
        this.fatal(stream, new AgentError('AGENT_REFUSED', `the master shut this agent down: ${msg.message!.value.message ?? ''}`));
        return;
      }
      this.options.onMessage(msg);
    });
    stream.on('error', (err: grpc.ServiceError) => {
      if (err.code === grpc.status.UNAUTHENTICATED) {
        this.fatal(
          stream,
          new AgentError('AGENT_REFUSED', `the master refused the agent's credentials: ${err.details}; pass the cluster token (--token_file or IPPC_TOKEN)`),
        );
      } else if (err.code === grpc.status.INVALID_ARGUMENT || err.code === grpc.status.PERMISSION_DENIED) {
        this.fatal(stream, new AgentError('AGENT_REFUSED', `the master refused the agent: ${err.details}`));
      } else this.lost(stream, `${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`);
    });
    stream.on('end', () => this.lost(stream, 'the master ended the session'));
    stream.write(this.options.hello());
  }

  private lost(stream: grpc.ClientDuplexStream<agentv1.AgentMessage, agentv1.MasterMessage>, why: string): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    this.registered = false;
    stream.cancel();
    this.options.onDisconnected();
    if (this.stopped) return;
    const delay = this.backoff.next();
    this.options.log.warn({ why, retryInMs: Math.round(delay) }, 'lost the master; re-registering');
    this.timer = setTimeout(() => this.open(), delay);
  }

  private fatal(stream: grpc.ClientDuplexStream<agentv1.AgentMessage, agentv1.MasterMessage>, err: AgentError): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    this.registered = false;
    stream.cancel();
    this.stopped = true;
    this.options.onDisconnected();
    this.options.onFatal(err);
  }

  /** Sends when registered; false otherwise (the status update manager resends later). */
  send(message: agentv1.AgentMessage): boolean {
    if (!this.stream || !this.registered) return false;
    this.stream.write(message);
    return true;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const s = this.stream;
    this.stream = undefined;
    this.registered = false;
    s?.cancel();
    this.client.close();
  }
}
