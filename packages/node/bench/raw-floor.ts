// The raw floor of the network/cni benchmark: run inside the node's network namespace (the bench
// starts it with `nsenter --net=<node ns>`), it does what the bare minimum of a runtime does for
// one container: `ip netns add` and the CNI ADD of the very conflist the agent uses (the Debian
// bridge plugin with ippc-ipam, every plugin of the chain with its prevResult), timed from
// inside, so neither nsenter nor this process's start counts.
//
// Protocol: one JSON request per stdin line, one JSON answer per stdout line.
//   {"op":"add","id":"x"}  -> {"ok":true,"ms":12.3,"ip":"10.236.1.5"}
//   {"op":"del","id":"x"}  -> {"ok":true,"ms":8.1}
//   {"op":"exit"}
//   argv: <conflist file> <CNI_PATH> <netns prefix>

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { createExecInvoker } from '@ippc/network-isolator';

const exec = promisify(execFile);
const [conflistFile, cniPath, prefix] = process.argv.slice(2);
if (!conflistFile || !cniPath || !prefix) throw new Error('usage: raw-floor.ts <conflist> <CNI_PATH> <netns prefix>');

interface Conflist {
  cniVersion: string;
  name: string;
  plugins: Array<Record<string, unknown> & { type: string }>;
}
const conf = JSON.parse(await readFile(conflistFile, 'utf8')) as Conflist;
const dirs = cniPath.split(':');

// Plugins are found and run the way the isolator runs them (spawn, config on stdin), so the
// floor and the agent differ only in what the agent does around the ADD.
const invoker = createExecInvoker();
async function binary(type: string): Promise<string> {
  const path = await invoker.find(type, dirs);
  if (!path) throw new Error(`plugin ${type} not in ${cniPath}`);
  return path;
}

const env = (cmd: string, id: string, netns: string): Record<string, string> => ({
  CNI_COMMAND: cmd,
  CNI_CONTAINERID: id,
  CNI_IFNAME: 'eth0',
  CNI_NETNS: netns,
  CNI_PATH: cniPath,
  PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
});

const results = new Map<string, unknown>();

async function add(id: string): Promise<{ ms: number; ip: string }> {
  const name = `${prefix}${id}`;
  const netns = `/run/netns/${name}`;
  const t0 = performance.now();
  await exec('ip', ['netns', 'add', name]);
  let prev: unknown;
  for (const plugin of conf.plugins) {
    const stdin = JSON.stringify({ ...plugin, cniVersion: conf.cniVersion, name: conf.name, ...(prev ? { prevResult: prev } : {}) });
    const out = await invoker.exec(await binary(plugin.type), { env: env('ADD', `raw-${id}`, netns), stdin });
    if (out.exitCode !== 0) throw new Error(`${plugin.type} ADD: ${out.stdout} ${out.stderr}`);
    prev = JSON.parse(out.stdout);
  }
  const ms = performance.now() - t0;
  results.set(id, prev);
  const ips = (prev as { ips?: Array<{ address: string }> }).ips ?? [];
  return { ms, ip: ips.map((a) => a.address.split('/')[0]!).find((a) => !a.includes(':')) ?? '' };
}

async function del(id: string): Promise<{ ms: number }> {
  const name = `${prefix}${id}`;
  const netns = `/run/netns/${name}`;
  const t0 = performance.now();
  const prev = results.get(id);
  for (const plugin of [...conf.plugins].reverse()) {
    const stdin = JSON.stringify({ ...plugin, cniVersion: conf.cniVersion, name: conf.name, ...(prev ? { prevResult: prev } : {}) });
    const out = await invoker.exec(await binary(plugin.type), { env: env('DEL', `raw-${id}`, netns), stdin });
    if (out.exitCode !== 0) throw new Error(`${plugin.type} DEL: ${out.stdout} ${out.stderr}`);
  }
  await exec('ip', ['netns', 'del', name]);
  results.delete(id);
  return { ms: performance.now() - t0 };
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const req = JSON.parse(line) as { op: string; id?: string; seq: number };
  if (req.op === 'exit') break;
  // Requests run concurrently (the parallel round sends 20 at once); answers carry the request's seq.
  void (async () => {
    try {
      const out = req.op === 'add' ? await add(req.id!) : await del(req.id!);
      process.stdout.write(`${JSON.stringify({ seq: req.seq, ok: true, ...out })}\n`);
    } catch (err) {
      process.stdout.write(`${JSON.stringify({ seq: req.seq, ok: false, error: (err as Error).message })}\n`);
    }
  })();
}
// Whatever a failed run left: DEL (releases the addresses) and the namespaces.
for (const id of [...results.keys()]) await del(id).catch(() => undefined);
