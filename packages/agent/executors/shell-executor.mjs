// A Mesos custom executor written from Mesos's documentation alone ("Executor HTTP API"), with
// nothing of ippc in it: Node's built-ins, the MESOS_* environment the agent gives every executor,
// JSON calls to `POST /api/v1/executor` and the RecordIO event stream. It runs each task's `data`
// (a shell command) as a child process in the executor's own container, so every task it runs
// shares the executor's network namespace and addresses. It reports TASK_RUNNING and the task's end
// (FINISHED, FAILED, KILLED) with UPDATE calls, keeping each update until ACKNOWLEDGED and sending
// the unacknowledged ones again when it re-subscribes; it kills a task on KILL, echoes MESSAGE
// back to its framework, and on SHUTDOWN kills every task and exits. When the agent goes away (a
// restart), it does what Mesos's executor library does: with checkpointing (MESOS_CHECKPOINT=1) it
// subscribes again, at random intervals of at most MESOS_SUBSCRIPTION_BACKOFF_MAX, for at most
// MESOS_RECOVERY_TIMEOUT, and its tasks run on meanwhile; without, or once that time is up, it shuts
// down.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';

const env = process.env;
const [host, port] = (env.MESOS_AGENT_ENDPOINT ?? '').split(':');
const ids = { framework_id: { value: env.MESOS_FRAMEWORK_ID }, executor_id: { value: env.MESOS_EXECUTOR_ID } };
const sandbox = env.MESOS_SANDBOX ?? '.';
const log = (...args) => console.log(new Date().toISOString(), ...args);

/** A Mesos duration (`15mins`, `2secs`, `500ms`) in milliseconds. */
function duration(name) {
  const units = { ns: 1e-6, us: 1e-3, ms: 1, secs: 1e3, mins: 6e4, hrs: 3.6e6, days: 8.64e7, weeks: 6.048e8 };
  const m = /^(\d+(?:\.\d+)?)([a-z]+)$/.exec(env[name] ?? '');
  if (!m || !(m[2] in units)) {
    log(`expecting a duration in ${name}, not '${env[name] ?? ''}'`);
    process.exit(1);
  }
  return Number(m[1]) * units[m[2]];
}
const checkpoint = env.MESOS_CHECKPOINT === '1';
const recoveryTimeoutMs = checkpoint ? duration('MESOS_RECOVERY_TIMEOUT') : 0;
const maxBackoffMs = checkpoint ? duration('MESOS_SUBSCRIPTION_BACKOFF_MAX') : 0;
const shutdownGraceMs = env.MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD ? duration('MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD') : 5000;

/** taskId -> { child, killed, info } */
const tasks = new Map();
/** uuid (base64) -> { status, task }: an update the agent has not acknowledged yet, and its task's TaskInfo. */
const unacknowledged = new Map();
let shuttingDown = false;
/** Set from the first disconnection until subscribed again: when it fires, the agent is given up. */
let recoveryTimer;

function post(call) {
  const body = JSON.stringify({ ...ids, ...call });
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/api/v1/executor', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => (res.statusCode === 202 ? resolve() : reject(new Error(`${call.type}: ${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function update(taskId, state, message) {
  const status = { task_id: { value: taskId }, state, source: 'SOURCE_EXECUTOR', uuid: Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64') };
  if (message) status.message = message;
  unacknowledged.set(status.uuid, { status, task: tasks.get(taskId)?.info });
  post({ type: 'UPDATE', update: { status } }).catch((err) => log('update failed (resent on re-subscription):', err.message));
}

function launch(task) {
  const id = task.task_id.value;
  const command = Buffer.from(task.data ?? '', 'base64').toString('utf8');
  const dir = join(sandbox, id);
  const out = createWriteStream(`${dir}.stdout`);
  const child = spawn('sh', ['-c', `mkdir -p '${dir}' && cd '${dir}' && ${command}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...env, MESOS_TASK_ID: id },
  });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const record = { child, killed: false, info: task };
  tasks.set(id, record);
  log('launched', id, command);
  update(id, 'TASK_RUNNING');
  child.on('exit', (code, signal) => {
    const state = record.killed ? 'TASK_KILLED' : code === 0 ? 'TASK_FINISHED' : 'TASK_FAILED';
    update(id, state, signal ? `Command terminated with signal ${signal}` : `Command exited with status ${code}`);
    tasks.delete(id);
    if (shuttingDown && tasks.size === 0) setTimeout(() => process.exit(0), 500);
  });
}

function kill(id) {
  const t = tasks.get(id);
  if (!t) return update(id, 'TASK_LOST', 'Unknown task');
  t.killed = true;
  t.child.kill('SIGTERM');
}

function onEvent(event) {
  switch (event.type) {
    case 'SUBSCRIBED':
      clearTimeout(recoveryTimer);
      recoveryTimer = undefined;
      log('subscribed, container', event.subscribed.container_id?.value);
      break;
    case 'LAUNCH':
      launch(event.launch.task);
      break;
    case 'KILL':
      kill(event.kill.task_id.value);
      break;
    case 'ACKNOWLEDGED':
      unacknowledged.delete(event.acknowledged.uuid);
      break;
    case 'MESSAGE':
      post({ type: 'MESSAGE', message: { data: event.message.data } }).catch((err) => log('message failed:', err.message));
      break;
    case 'SHUTDOWN':
      shutdown();
      break;
    case 'ERROR':
      log('error from the agent:', event.error.message);
      break;
  }
}

/** SHUTDOWN (from the agent, or when the agent is given up): kill every task, exit once they ended or after the grace. */
function shutdown() {
  shuttingDown = true;
  if (tasks.size === 0) process.exit(0);
  for (const id of tasks.keys()) kill(id);
  setTimeout(() => process.exit(0), shutdownGraceMs).unref();
}

/** Subscribes, then reads RecordIO records ("<length>\n<bytes>") for as long as the stream lasts. */
function subscribe() {
  const pending = [...unacknowledged.values()];
  const unackedTasks = [...new Map(pending.filter((u) => u.task).map((u) => [u.task.task_id.value, u.task])).values()];
  const body = JSON.stringify({
    ...ids,
    type: 'SUBSCRIBE',
    subscribe: { unacknowledged_tasks: unackedTasks, unacknowledged_updates: pending.map(({ status }) => ({ status })) },
  });
  const req = request(
    { host, port, path: '/api/v1/executor', method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' } },
    (res) => {
      if (res.statusCode !== 200) {
        // The agent answers but does not take us yet (503 while it recovers): ask again in a second,
        // as Mesos's executors repeat SUBSCRIBE while connected and not subscribed.
        log('subscribe refused:', res.statusCode);
        res.resume();
        return later(1000);
      }
      let buffered = Buffer.alloc(0);
      res.on('data', (chunk) => {
        buffered = Buffer.concat([buffered, chunk]);
        for (;;) {
          const newline = buffered.indexOf(10);
          if (newline < 0) break;
          const length = Number(buffered.subarray(0, newline).toString('ascii'));
          if (buffered.length < newline + 1 + length) break;
          const record = buffered.subarray(newline + 1, newline + 1 + length);
          buffered = buffered.subarray(newline + 1 + length);
          onEvent(JSON.parse(record.toString('utf8')));
        }
      });
      // 'close', not 'end': a stream cut by an agent that died (kill -9) ends with 'aborted' and
      // 'close', never 'end'.
      res.on('error', () => undefined);
      res.on('close', disconnected);
    },
  );
  req.on('error', disconnected);
  req.end(body);
}

/**
 * The agent went away, or cannot be reached (Mesos's executor library): without checkpointing the
 * executor cannot outlive its agent and shuts down; with it, the first disconnection starts the
 * MESOS_RECOVERY_TIMEOUT clock and every attempt waits a random time up to MESOS_SUBSCRIPTION_BACKOFF_MAX.
 */
function disconnected() {
  if (shuttingDown) return;
  if (!checkpoint) {
    log('disconnected from the agent without checkpointing: shutting down');
    return shutdown();
  }
  recoveryTimer ??= setTimeout(() => {
    log(`the agent did not come back within MESOS_RECOVERY_TIMEOUT (${env.MESOS_RECOVERY_TIMEOUT}): shutting down`);
    shutdown();
  }, recoveryTimeoutMs);
  later(Math.random() * maxBackoffMs);
}

/** One subscription attempt after `ms`, unless one is already due. */
let attempt;
function later(ms) {
  if (shuttingDown || attempt) return;
  attempt = setTimeout(() => {
    attempt = undefined;
    subscribe();
  }, ms);
}

process.on('SIGTERM', () => {
  for (const t of tasks.values()) t.child.kill('SIGTERM');
  process.exit(0);
});
subscribe();
