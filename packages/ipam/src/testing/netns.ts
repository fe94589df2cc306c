import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { TEST_PREFIX } from './resources.js';

// Network namespaces for integration tests: names under `ipam-` (IPPC_TEST_NS_PREFIX, see
// resources.ts), deleted in teardown.

export function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

export function uniqueName(prefix: string): string {
  return `${TEST_PREFIX}-${prefix}-${randomBytes(3).toString('hex')}`;
}

export function netnsAdd(name: string): string {
  run('ip', ['netns', 'add', name]);
  run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return `/run/netns/${name}`;
}

export function netnsDel(name: string): void {
  try {
    run('ip', ['netns', 'del', name]);
  } catch {
    // already gone
  }
}

export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface PluginCall {
  /** Absolute path of the plugin executable. */
  plugin: string;
  command: string;
  containerId?: string;
  netns?: string;
  ifName?: string;
  cniPath: string;
  config: unknown;
  cniArgs?: string;
  /** Run the plugin inside this (scratch host) namespace, as a runtime on that host would. */
  hostNetns?: string;
}

/** Execs a CNI plugin the way a runtime does: environment + config on standard input. */
export function runPlugin(call: PluginCall): Promise<PluginRun> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', CNI_COMMAND: call.command, CNI_PATH: call.cniPath };
  if (call.containerId) env.CNI_CONTAINERID = call.containerId;
  if (call.netns) env.CNI_NETNS = call.netns;
  if (call.ifName) env.CNI_IFNAME = call.ifName;
  if (call.cniArgs) env.CNI_ARGS = call.cniArgs;
  const [cmd, args] = call.hostNetns ? ['ip', ['netns', 'exec', call.hostNetns, call.plugin]] : [call.plugin, []];
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd as string, args as string[], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
    child.stdin.end(typeof call.config === 'string' ? call.config : JSON.stringify(call.config));
  });
}
