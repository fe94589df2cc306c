import { request, type ClientRequest } from 'node:http';
import { fromV1Json, RecordIoDecoder, toV1Json } from '@ippc/mesos';
import { Offer, TaskInfo } from '@ippc/proto';

// A minimal framework over Mesos's scheduler HTTP API, for ippc's own benches and tests (real
// frameworks use their own clients; the e2e suite proves one from npm). JSON both ways: SUBSCRIBE
// opens the RecordIO event stream, every other call is a POST with the stream id; offers are held
// as they come and go, and every update is acknowledged.

export type JsonEvent = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface HttpFramework {
  frameworkId: string;
  streamId: string;
  /** Called for every event, in order. */
  onEvent(listener: (e: JsonEvent) => void): void;
  /** The next event that `pred` accepts (from now on), within `timeoutMs`. */
  next(pred: (e: JsonEvent) => boolean, timeoutMs?: number): Promise<JsonEvent>;
  /** POSTs a call (framework id filled in); resolves with the status code, rejects on anything but 202. */
  call(body: Record<string, unknown>): Promise<void>;
  /** An outstanding offer `pred` accepts (taken out of the held ones), waiting for one if none is held. */
  takeOffer(pred?: (o: Offer) => boolean, timeoutMs?: number): Promise<Offer>;
  /** DECLINEs every offer held, and forgets them. */
  declineAll(refuseSeconds?: number): Promise<void>;
  /** ACCEPT with one LAUNCH of `tasks` on `offers`. */
  launch(offers: Offer[], tasks: TaskInfo[]): Promise<void>;
  close(): void;
}

/** Subscribes as a framework named `name` at the master's HTTP base URL; `acknowledge: false` leaves updates unacknowledged. */
export function subscribeHttpFramework(
  masterUrl: string,
  name: string,
  token: string | undefined,
  options: { acknowledge?: boolean } = {},
): Promise<HttpFramework> {
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const listeners: ((e: JsonEvent) => void)[] = [];
  return new Promise((resolve, reject) => {
    const req: ClientRequest = request(
      `${masterUrl}/api/v1/scheduler`,
      { method: 'POST', headers: { ...auth, 'content-type': 'application/json', accept: 'application/json' } },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`SUBSCRIBE answered ${res.statusCode}`));
        const streamId = String(res.headers['mesos-stream-id']);
        const decoder = new RecordIoDecoder();
        let framework: HttpFramework | undefined;
        res.on('data', (chunk: Buffer) => {
          for (const record of decoder.push(chunk)) {
            const e = JSON.parse(record.toString('utf8')) as JsonEvent;
            if (!framework && e.type === 'SUBSCRIBED') {
              framework = makeFramework(masterUrl, auth, req, e.subscribed.framework_id.value as string, streamId, listeners, options.acknowledge ?? true);
              resolve(framework);
            }
            for (const l of listeners) l(e);
          }
        });
        res.on('error', () => undefined);
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'root', name } } }));
  });
}

function makeFramework(
  masterUrl: string,
  auth: Record<string, string>,
  req: ClientRequest,
  frameworkId: string,
  streamId: string,
  listeners: ((e: JsonEvent) => void)[],
  acknowledge: boolean,
): HttpFramework {
  // Outstanding offers, as the events give and rescind them.
  const held = new Map<string, Offer>();
  listeners.push((e) => {
    if (e.type === 'OFFERS') for (const o of e.offers.offers as unknown[]) held.set((o as JsonEvent).id.value, fromV1Json(Offer, o, 'an offer'));
    if (e.type === 'RESCIND') held.delete(e.rescind.offer_id.value);
  });
  // Every update with a uuid is acknowledged, as frameworks do (the agent sends a task's next
  // update only after the last one is acknowledged).
  listeners.push((e) => {
    const st = e.type === 'UPDATE' ? e.update.status : undefined;
    if (acknowledge && st?.uuid && st.agent_id) {
      void call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: st.agent_id, task_id: st.task_id, uuid: st.uuid } }).catch(() => undefined);
    }
  });
  const take = (pred: (o: Offer) => boolean) => {
    const o = [...held.values()].find(pred);
    if (o) held.delete(o.id!.value!);
    return o;
  };
  const call = async (body: Record<string, unknown>) => {
    const res = await fetch(`${masterUrl}/api/v1/scheduler`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'mesos-stream-id': streamId },
      body: JSON.stringify({ framework_id: { value: frameworkId }, ...body }),
    });
    if (res.status !== 202) throw new Error(`${String(body.type)} answered ${res.status}: ${await res.text()}`);
  };
  return {
    frameworkId,
    streamId,
    onEvent: (l) => listeners.push(l),
    next: (pred, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching event within ${timeoutMs} ms`)), timeoutMs);
        const l = (e: JsonEvent) => {
          if (!pred(e)) return;
          clearTimeout(timer);
          listeners.splice(listeners.indexOf(l), 1);
          resolve(e);
        };
        listeners.push(l);
      }),
    call,
    takeOffer: async (pred = () => true, timeoutMs = 30_000) => {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const o = take(pred);
        if (o) return o;
        if (Date.now() > end) throw new Error(`no matching offer within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    declineAll: async (refuseSeconds = 0) => {
      const ids = [...held.keys()];
      held.clear();
      if (ids.length > 0) await call({ type: 'DECLINE', decline: { offer_ids: ids.map((value) => ({ value })), filters: { refuse_seconds: refuseSeconds } } });
    },
    launch: (offers, tasks) =>
      call({
        type: 'ACCEPT',
        accept: {
          offer_ids: offers.map((o) => ({ value: o.id!.value! })),
          operations: [{ type: 'LAUNCH', launch: { task_infos: tasks.map((t) => toV1Json(TaskInfo, t)) } }],
          filters: { refuse_seconds: 0 },
        },
      }),
    close: () => req.destroy(),
  };
}
