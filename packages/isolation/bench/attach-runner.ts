// Runs INSIDE an agent's network namespace (started by isolation-bench.ts through nsenter), so the
// CNI plugins execute exactly as the agent would run them: no nsenter in the timed path.
// Input: a JSON job file (argv[2]); output: one JSON object on stdout.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';

interface Job {
  n: number;
  cniPath: string[];
  base: { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
  chain: { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
  nsPrefix: string;
  /** First two octets of the test /16 (resources.ts). */
  net: string;
  socket: string;
  groups: string[];
  /** A compiled forwarder to time as a what-if (GET /status like the curl line), if any. */
  nativeForwarder?: string;
}

const job = JSON.parse(await readFile(process.argv[2]!, 'utf8')) as Job;

function exec(file: string, env: Record<string, string>, input: string, args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, args, { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

async function find(type: string): Promise<string> {
  const { access, constants } = await import('node:fs/promises');
  for (const dir of job.cniPath) {
    try {
      await access(`${dir}/${type}`, constants.X_OK);
      return `${dir}/${type}`;
    } catch {
      // next
    }
  }
  throw new Error(`no plugin ${type}`);
}

const paths = new Map<string, string>();
for (const conf of [job.base, job.chain]) for (const p of conf.plugins) paths.set(String(p.type), await find(String(p.type)));

/** Runs a conflist like libcni; returns the wall time of the whole chain. */
async function chain(conf: Job['base'], command: 'ADD' | 'DEL', containerId: string, netns: string, prev?: unknown): Promise<{ ms: number; result?: unknown }> {
  const plugins = command === 'ADD' ? conf.plugins : [...conf.plugins].reverse();
  let result: unknown = command === 'DEL' ? prev : undefined;
  const started = performance.now();
  for (const plugin of plugins) {
    const config = { ...plugin, cniVersion: conf.cniVersion, name: conf.name, args: { 'org.apache.mesos': { network_info: { name: conf.name, groups: job.groups } } }, ...(result ? { prevResult: result } : {}) };
    const res = await exec(paths.get(String(plugin.type))!, { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: job.cniPath.join(':') }, JSON.stringify(config));
    if (res.code !== 0) throw new Error(`${String(plugin.type)} ${command} failed: ${res.stdout} ${res.stderr}`);
    if (command === 'ADD') result = JSON.parse(res.stdout);
  }
  return { ms: performance.now() - started, result };
}

function post(path: string, headers: Record<string, string>, body: string): Promise<{ status: number; ms: number; body: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request({ socketPath: job.socket, method: 'POST', path, headers: { 'content-type': 'application/json', ...headers }, agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function netns(name: string, op: 'add' | 'del'): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('ip', ['netns', op, name], { stdio: 'ignore' });
    child.on('close', (code) => (code === 0 || op === 'del' ? resolve() : reject(new Error(`ip netns ${op} ${name}: ${code}`))));
  });
}

const out = { nativeExec: [] as number[], baseAdd: [] as number[], chainAdd: [] as number[], baseDel: [] as number[], chainDel: [] as number[], direct: [] as number[], versionExec: [] as number[], curlExec: [] as number[], trueExec: [] as number[] };
const made: { name: string; conf: Job['base']; id: string; result: unknown; kind: 'base' | 'chain' }[] = [];
try {
  for (let i = 0; i < job.n; i++) {
    // Alternate which variant goes first, so drift in machine load hits both alike.
    const order: ('base' | 'chain')[] = i % 2 === 0 ? ['base', 'chain'] : ['chain', 'base'];
    for (const kind of order) {
      const name = `${job.nsPrefix}-${kind}${i}`;
      await netns(name, 'add');
      const conf = kind === 'base' ? job.base : job.chain;
      const id = `bench-${kind}-${i}`;
      const r = await chain(conf, 'ADD', id, `/run/netns/${name}`);
      (kind === 'base' ? out.baseAdd : out.chainAdd).push(r.ms);
      made.push({ name, conf, id, result: r.result, kind });
    }
  }
  // The daemon alone: the same ADD the forwarder would send, without the two execs.
  const plugin = job.chain.plugins[job.chain.plugins.length - 1]!;
  for (let i = 0; i < job.n; i++) {
    const prevResult = { cniVersion: '1.0.0', ips: [{ address: `${job.net}.99.${i + 1}/24` }] };
    const body = JSON.stringify({ ...plugin, cniVersion: '1.0.0', name: job.chain.name, args: { 'org.apache.mesos': { network_info: { groups: job.groups } } }, prevResult });
    const headers = { 'x-cni-containerid': `bench-direct-${i}`, 'x-cni-ifname': 'eth0', 'x-cni-netns': '/run/netns/none' };
    const add = await post('/cni', { ...headers, 'x-cni-command': 'ADD' }, body);
    if (add.status !== 200) throw new Error(`direct ADD: ${add.body}`);
    out.direct.push(add.ms);
    await post('/cni', { ...headers, 'x-cni-command': 'DEL' }, body);
  }
  // Exec floors of the forwarder: the shell part alone (VERSION never calls curl), curl alone, /bin/true.
  const forwarder = paths.get('ippc-isolation')!;
  for (let i = 0; i < job.n; i++) {
    out.versionExec.push((await exec(forwarder, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}')).ms);
    out.curlExec.push((await exec('curl', {}, '', ['-s', '-o', '/dev/null', '--unix-socket', job.socket, 'http://ippc-isolation/status'])).ms);
    out.trueExec.push((await exec('/bin/true', {}, '')).ms);
    if (job.nativeForwarder) out.nativeExec.push((await exec(job.nativeForwarder, {}, '', [job.socket])).ms);
  }
} finally {
  // DEL in reverse, timed per variant, then the namespaces go.
  for (const m of made.reverse()) {
    try {
      const r = await chain(m.conf, 'DEL', m.id, `/run/netns/${m.name}`, m.result);
      (m.kind === 'base' ? out.baseDel : out.chainDel).push(r.ms);
    } finally {
      await netns(m.name, 'del');
    }
  }
}
process.stdout.write(JSON.stringify(out) + '\n');
