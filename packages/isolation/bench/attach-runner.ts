// Runs INSIDE an agent's network namespace (started by isolation-bench.ts through nsenter), so the
// CNI plugins execute exactly as the agent would run them: no nsenter in the timed path.
// Input: a JSON job file (argv[2]); output: one JSON object on stdout.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';

interface Job {
  n: number;
  /** Folders with Debian's plugins (bridge, host-local). */
  cniPath: string[];
  /** Folders holding the `ippc-isolation` executable, by flavour; each put first on CNI_PATH for its variant. */
  pluginDirs: { native: string; sh: string };
  base: { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
  chain: { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
  nsPrefix: string;
  /** First two octets of the test /16 (resources.ts). */
  net: string;
  socket: string;
  groups: string[];
  /**
   * A what-if: a small C program that execs a plugin with posix_spawn and times it, the way a Go
   * runtime (libcni) would exec it, without Node's own exec cost. Undefined without `cc`.
   */
  cSpawner?: string;
}

type Variant = 'base' | 'native' | 'sh' | 'nativeC';

const job = JSON.parse(await readFile(process.argv[2]!, 'utf8')) as Job;

function exec(
  file: string,
  env: Record<string, string>,
  input: string,
  args: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
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

async function find(type: string, dirs: string[]): Promise<string> {
  const { access, constants } = await import('node:fs/promises');
  for (const dir of dirs) {
    try {
      await access(`${dir}/${type}`, constants.X_OK);
      return `${dir}/${type}`;
    } catch {
      // next
    }
  }
  throw new Error(`no plugin ${type}`);
}

const cniPaths: Record<Variant, string[]> = {
  base: job.cniPath,
  native: [job.pluginDirs.native, ...job.cniPath],
  sh: [job.pluginDirs.sh, ...job.cniPath],
  nativeC: [job.pluginDirs.native, ...job.cniPath],
};
const variants: Variant[] = job.cSpawner ? ['base', 'native', 'sh', 'nativeC'] : ['base', 'native', 'sh'];
const paths = new Map<string, string>();
for (const v of variants) {
  const conf = v === 'base' ? job.base : job.chain;
  for (const p of conf.plugins) paths.set(`${v}/${String(p.type)}`, await find(String(p.type), cniPaths[v]));
}

/** Runs a conflist like libcni; returns the wall time of the whole chain. */
async function chain(
  variant: Variant,
  command: 'ADD' | 'DEL',
  containerId: string,
  netns: string,
  prev?: unknown,
): Promise<{ ms: number; isolationMs: number; result?: unknown }> {
  const conf = variant === 'base' ? job.base : job.chain;
  const plugins = command === 'ADD' ? conf.plugins : [...conf.plugins].reverse();
  let result: unknown = command === 'DEL' ? prev : undefined;
  const started = performance.now();
  let isolationMs = 0;
  for (const plugin of plugins) {
    const config = {
      ...plugin,
      cniVersion: conf.cniVersion,
      name: conf.name,
      args: { 'org.apache.mesos': { network_info: { name: conf.name, groups: job.groups } } },
      ...(result ? { prevResult: result } : {}),
    };
    const path = paths.get(`${variant}/${String(plugin.type)}`)!;
    const env = { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: cniPaths[variant].join(':') };
    const res =
      variant === 'nativeC' && plugin.type === 'ippc-isolation'
        ? await execViaC(path, env, JSON.stringify(config))
        : await exec(path, env, JSON.stringify(config));
    if (res.code !== 0) throw new Error(`${String(plugin.type)} ${command} failed: ${res.stdout} ${res.stderr}`);
    if (plugin.type === 'ippc-isolation') isolationMs = res.ms;
    if (command === 'ADD') result = JSON.parse(res.stdout);
  }
  return { ms: performance.now() - started, isolationMs, result };
}

/** Execs a plugin through the C spawner; `ms` is the spawner's own measurement of the plugin. */
async function execViaC(
  file: string,
  env: Record<string, string>,
  input: string,
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const res = await exec(job.cSpawner!, env, input, [file]);
  const m = /ms=([\d.]+)/.exec(res.stderr);
  if (!m) throw new Error(`C spawner: ${res.stderr}`);
  return { ...res, ms: Number(m[1]) };
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

const out = {
  baseAdd: [] as number[],
  chainAdd: [] as number[],
  shAdd: [] as number[],
  baseDel: [] as number[],
  chainDel: [] as number[],
  shDel: [] as number[],
  direct: [] as number[],
  directDel: [] as number[],
  /** The ippc-isolation exec alone, inside the chain ADDs (native, sh). */
  nativeInChain: [] as number[],
  shInChain: [] as number[],
  /** The same native ADD exec'd by the C spawner (what-if: a runtime with a cheap exec). */
  nativeCInChain: [] as number[],
  nativeCAdd: [] as number[],
  /** The daemon's own time per ADD (its ippc_isolation_cni_seconds histogram), during the chain ADDs. */
  daemonAddMeanMs: [] as number[],
  /** The daemon's means during the chain ADDs, as `key=ms`: phase:<phase>, apply:<mode>, kernel:<mode>. */
  daemonMeans: [] as string[],
  /** The daemon's phases of each chain ADD (ms), from its GET /timings. */
  daemonPhases: {} as Record<string, number[]>,
  versionExec: [] as number[],
  shVersionExec: [] as number[],
  curlExec: [] as number[],
  trueExec: [] as number[],
};
const addTimes: Record<Variant, number[]> = { base: out.baseAdd, native: out.chainAdd, sh: out.shAdd, nativeC: out.nativeCAdd };
const nativeCDel: number[] = [];
const delTimes: Record<Variant, number[]> = { base: out.baseDel, native: out.chainDel, sh: out.shDel, nativeC: nativeCDel };
const made: { name: string; variant: Variant; id: string; result: unknown }[] = [];

/** Sums and counts of the daemon's own histograms so far: ADD handling, its phases, applies. */
function get(path: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const req = request({ socketPath: job.socket, method: 'GET', path, agent: false }, (res) => {
      let t = '';
      res.on('data', (d: Buffer) => (t += d.toString()));
      res.on('end', () => resolve(t));
    });
    req.on('error', reject);
    req.end();
  });
}

async function daemonSeconds(): Promise<Map<string, { sum: number; count: number }>> {
  const text = await get('/metrics');
  const out = new Map<string, { sum: number; count: number }>();
  for (const l of text.split('\n')) {
    const m =
      /^(ippc_isolation_cni_seconds|ippc_isolation_cni_phase_seconds|ippc_isolation_apply_seconds|ippc_isolation_apply_kernel_seconds)_(sum|count)\{([^}]*)\} (\S+)$/.exec(
        l,
      );
    if (!m) continue;
    const labels = m[3]!;
    if (/command="/.test(labels) && !labels.includes('command="ADD"')) continue;
    const phase = /phase="([^"]+)"/.exec(labels)?.[1];
    const mode = /mode="([^"]+)"/.exec(labels)?.[1];
    const key =
      m[1] === 'ippc_isolation_cni_seconds' ? 'total' : phase ? `phase:${phase}` : `${m[1] === 'ippc_isolation_apply_seconds' ? 'apply' : 'kernel'}:${mode}`;
    const e = out.get(key) ?? { sum: 0, count: 0 };
    if (m[2] === 'sum') e.sum = Number(m[4]);
    else e.count = Number(m[4]);
    out.set(key, e);
  }
  return out;
}

/** Mean ms per observation between two snapshots, by key. */
function means(before: Map<string, { sum: number; count: number }>, after: Map<string, { sum: number; count: number }>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [key, a] of after) {
    const b = before.get(key) ?? { sum: 0, count: 0 };
    if (a.count > b.count) out[key] = [((a.sum - b.sum) / (a.count - b.count)) * 1000];
  }
  return out;
}

try {
  const before = await daemonSeconds();
  for (let i = 0; i < job.n; i++) {
    // Rotate which variant goes first, so drift in machine load hits all alike.
    const k = i % variants.length;
    const order = [...variants.slice(k), ...variants.slice(0, k)];
    for (const variant of order) {
      const name = `${job.nsPrefix}-${variant}${i}`;
      await netns(name, 'add');
      const id = `bench-${variant}-${i}`;
      const r = await chain(variant, 'ADD', id, `/run/netns/${name}`);
      addTimes[variant].push(r.ms);
      if (variant === 'native') out.nativeInChain.push(r.isolationMs);
      if (variant === 'sh') out.shInChain.push(r.isolationMs);
      if (variant === 'nativeC') out.nativeCInChain.push(r.isolationMs);
      made.push({ name, variant, id, result: r.result });
    }
  }
  const after = await daemonSeconds();
  const m = means(before, after);
  out.daemonAddMeanMs.push(m.total?.[0] ?? NaN);
  out.daemonMeans = Object.entries(m).map(([key, [v]]) => `${key}=${v}`);
  // Per call, the daemon's own phases of the ADDs just made (its GET /timings keeps the last 256).
  const timings = JSON.parse(await get('/timings')) as { command: string; phases: Record<string, number> }[];
  for (const t of timings.filter((x) => x.command === 'ADD').slice(-job.n * (variants.length - 1))) {
    for (const [phase, ms] of Object.entries(t.phases)) (out.daemonPhases[phase] ??= []).push(ms);
  }
  // The daemon alone: the same ADD the forwarder would send, without the two execs.
  const plugin = job.chain.plugins[job.chain.plugins.length - 1]!;
  for (let i = 0; i < job.n; i++) {
    const prevResult = { cniVersion: '1.0.0', ips: [{ address: `${job.net}.99.${i + 1}/24` }] };
    const body = JSON.stringify({
      ...plugin,
      cniVersion: '1.0.0',
      name: job.chain.name,
      args: { 'org.apache.mesos': { network_info: { groups: job.groups } } },
      prevResult,
    });
    const headers = { 'x-cni-containerid': `bench-direct-${i}`, 'x-cni-ifname': 'eth0', 'x-cni-netns': '/run/netns/none' };
    const add = await post('/cni', { ...headers, 'x-cni-command': 'ADD' }, body);
    if (add.status !== 200) throw new Error(`direct ADD: ${add.body}`);
    out.direct.push(add.ms);
    const del = await post('/cni', { ...headers, 'x-cni-command': 'DEL' }, body);
    if (del.status !== 200) throw new Error(`direct DEL: ${del.body}`);
    out.directDel.push(del.ms);
  }
  // Exec floors: each flavour answering VERSION (no daemon), curl alone, /bin/true.
  const native = paths.get('native/ippc-isolation')!;
  const sh = paths.get('sh/ippc-isolation')!;
  for (let i = 0; i < job.n; i++) {
    out.versionExec.push((await exec(native, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}')).ms);
    out.shVersionExec.push((await exec(sh, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}')).ms);
    out.curlExec.push((await exec('curl', {}, '', ['-s', '-o', '/dev/null', '--unix-socket', job.socket, 'http://ippc-isolation/status'])).ms);
    out.trueExec.push((await exec('/bin/true', {}, '')).ms);
  }
} finally {
  // DEL in reverse, timed per variant, then the namespaces go.
  for (const m of made.reverse()) {
    try {
      const r = await chain(m.variant, 'DEL', m.id, `/run/netns/${m.name}`, m.result);
      delTimes[m.variant].push(r.ms);
    } finally {
      await netns(m.name, 'del');
    }
  }
}
process.stdout.write(JSON.stringify(out) + '\n');
