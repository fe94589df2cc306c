// A Mesos custom executor written from Mesos's documentation alone ("Executor HTTP API"), with
// nothing of ippc in it: Node's built-ins, the MESOS_* environment the agent gives every executor,
// JSON calls to `POST /api/v1/executor` and the RecordIO event stream. It runs each task's `data`
// (a shell command) as a child process in the executor's own container, so every task it runs
// shares the executor's network namespace and addresses. It reports TASK_RUNNING and the task's end
// (FINISHED, FAILED, KILLED) with UPDATE calls, keeping each update until ACKNOWLEDGED and sending
// the unacknowledged ones again when it re-subscribes; it kills a task on KILL, echoes MESSAGE
// back to its framework, and on SHUTDOWN kills every task and exits.
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

/** taskId -> { child, killed, info } */
const tasks = new Map();
/** uuid (base64) -> TaskStatus of an update the agent has not acknowledged yet. */
const unacknowledged = new Map();
let shuttingDown = false;

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
  unacknowledged.set(status.uuid, status);
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
      shuttingDown = true;
      if (tasks.size === 0) process.exit(0);
      for (const id of tasks.keys()) kill(id);
      break;
    case 'ERROR':
      log('error from the agent:', event.error.message);
      break;
  }
}

/** Subscribes, then reads RecordIO records ("<length>\n<bytes>") for as long as the stream lasts. */
function subscribe(attempt = 0) {
  const body = JSON.stringify({
    ...ids,
    type: 'SUBSCRIBE',
    subscribe: { unacknowledged_tasks: [], unacknowledged_updates: [...unacknowledged.values()].map((status) => ({ status })) },
  });
  const req = request(
    { host, port, path: '/api/v1/executor', method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' } },
    (res) => {
      if (res.statusCode !== 200) {
        log('subscribe refused:', res.statusCode);
        res.resume();
        return retry(attempt);
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
      // 'close', not 'end': an agent killed mid-stream ends the response without an 'end'.
      res.on('close', () => retry(0));
    },
  );
  req.on('error', () => retry(attempt));
  req.end(body);
}

/** The agent went away (restarted): subscribe again, every second, for at most 15 minutes (MESOS_RECOVERY_TIMEOUT). */
function retry(attempt) {
  if (shuttingDown) return;
  if (attempt >= 900) process.exit(1);
  setTimeout(() => subscribe(attempt + 1), 1000);
}

process.on('SIGTERM', () => {
  for (const t of tasks.values()) t.child.kill('SIGTERM');
  process.exit(0);
});
subscribe();
