import { agentv1, schedulerv1, type Offer, type TaskState, type TaskStatus } from '@ippc/proto';
import type { AgentConnection, FrameworkConnection } from '../model.js';

// In-memory stand-ins for a framework's event stream and an agent's channel, for specs that drive
// the Master directly.

const { Event_Type } = schedulerv1;
type Event = schedulerv1.Event;

/** A framework connection that records events and lets a test wait for one. */
export class FakeFramework implements FrameworkConnection {
  events: Event[] = [];
  closed = false;
  private waiters: { pred: (e: Event) => boolean; resolve: (e: Event) => void }[] = [];
  send(event: Event): void {
    this.events.push(event);
    for (const w of [...this.waiters]) {
      if (w.pred(event)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(event);
      }
    }
  }
  close(): void {
    this.closed = true;
  }
  next(pred: (e: Event) => boolean, seen = 0): Promise<Event> {
    const found = this.events.slice(seen).find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no matching event within 2 s')), 2000);
      this.waiters.push({ pred, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }
  async offer(agentId?: string): Promise<Offer> {
    const e = await this.next(
      (ev) => ev.type === Event_Type.OFFERS && (ev.offers?.offers ?? []).some((o) => !agentId || o.agentId?.value === agentId),
      this.consumed,
    );
    this.consumed = this.events.indexOf(e) + 1;
    return e.offers!.offers.find((o) => !agentId || o.agentId?.value === agentId)!;
  }
  consumed = 0;
  update(taskId: string, state?: TaskState): Promise<TaskStatus> {
    return this.next(
      (e) => e.type === Event_Type.UPDATE && e.update?.status?.taskId?.value === taskId && (state === undefined || e.update.status.state === state),
    ).then((e) => e.update!.status!);
  }
}

type MM = NonNullable<agentv1.MasterMessage['message']>;
type Values = { [K in MM['$case']]: Extract<MM, { $case: K }>['value'] };

export class FakeAgent implements AgentConnection {
  messages: agentv1.MasterMessage[] = [];
  closedWith: string | undefined;
  send(message: agentv1.MasterMessage): void {
    this.messages.push(message);
  }
  close(reason?: string): void {
    this.closedWith = reason ?? '';
  }
  of<C extends MM['$case']>(kind: C): Values[C][] {
    const out: unknown[] = this.messages.flatMap((m) => (m.message?.$case === kind ? [m.message.value] : []));
    return out as Values[C][];
  }
}
