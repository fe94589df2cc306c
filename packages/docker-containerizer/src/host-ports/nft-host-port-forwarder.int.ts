// The nft forwarder against the real kernel, in scratch network namespaces standing for the
// testbed's machine: "host" (the daemon's host, a bridge at .1 with the listeners docker-proxy
// would be), "agent" (an agent container on that bridge, where the forwarder writes its table) and
// "peer" (another agent). A published port is reached at the agent's localhost, at its address
// from itself and from the peer; a port not published stays closed; unpublish closes it again.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '@ippc/core';
import { createCommandRunner } from './command.js';
import type { HostPortForwarder } from './host-port-forwarder.js';
import { createNftHostPortForwarder } from './nft-host-port-forwarder.js';

// Addresses live inside our own namespaces only (10.232.7.0/24 never reaches the machine's routes).
const NET = '10.232.7';
const VIA = `${NET}.1`;
const AGENT = `${NET}.11`;
const PEER = `${NET}.12`;
const TABLE = 'ippc_dkr_ports_int';
const [PUBLISHED, OTHER, UDP] = [35991, 35992, 35993];

const prefix = `dkrp-${randomBytes(2).toString('hex')}`;
const ns = (name: 'host' | 'agent' | 'peer') => `${prefix}-${name}`;
const nsPath = (name: 'host' | 'agent' | 'peer') => `/run/netns/${ns(name)}`;
const root = createCommandRunner({ timeoutMs: 20_000 });
const listeners: ChildProcess[] = [];

async function sh(where: 'host' | 'agent' | 'peer' | undefined, script: string): Promise<string> {
  const runner = where ? createCommandRunner({ netns: nsPath(where), timeoutMs: 20_000 }) : root;
  const res = await runner.run('sh', ['-ec', script]);
  if (res.code !== 0) throw new Error(`${where ?? 'root'}: ${script}\nexit ${res.code}: ${res.stderr.trim() || res.stdout.trim()}`);
  return res.stdout;
}

/** What a TCP client in `from` gets at address:port: the listener's greeting, `refused`, or `timeout`. */
async function tcp(from: 'agent' | 'peer', address: string, port: number): Promise<string> {
  const runner = createCommandRunner({ netns: nsPath(from), timeoutMs: 10_000 });
  const res = await runner.run('timeout', ['3', 'bash', '-c', `exec 3<>/dev/tcp/${address}/${port} && head -c 64 <&3`]);
  if (res.code === 0) return res.stdout.trim();
  return /refused/i.test(res.stderr) ? 'refused' : 'timeout';
}

/** What a UDP client in `from` gets back from address:port (the listener echoes), or `silent`. */
async function udp(from: 'agent' | 'peer', address: string, port: number): Promise<string> {
  const script = `const s=require('dgram').createSocket('udp4');s.on('message',m=>{console.log(String(m));process.exit(0)});s.send('ping',${port},'${address}');setTimeout(()=>{console.log('silent');process.exit(0)},2000)`;
  const res = await createCommandRunner({ netns: nsPath(from), timeoutMs: 10_000 }).run(process.execPath, ['-e', script]);
  return res.stdout.trim();
}

/** Listeners in the "host" namespace on every address, as docker-proxy listens for published ports. */
function listen(): Promise<void> {
  const script = `const net=require('net'),dgram=require('dgram');
for (const p of [${PUBLISHED},${OTHER}]) net.createServer(c=>c.end('hello-'+p+'\\n')).listen(p,'0.0.0.0');
const u=dgram.createSocket('udp4');u.on('message',(m,r)=>u.send('pong-${UDP}',r.port,r.address));u.bind(${UDP},'0.0.0.0',()=>console.log('listening'));`;
  const child = spawn('nsenter', [`--net=${nsPath('host')}`, '--', process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  listeners.push(child);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the listeners did not start in 10 s')), 10_000);
    child.stdout.once('data', () => (clearTimeout(t), resolve()));
    child.once('exit', (code) => (clearTimeout(t), reject(new Error(`the listeners exited with ${code}`))));
  });
}

async function cleanup(): Promise<void> {
  for (const l of listeners) l.kill('SIGKILL');
  // Every namespace of this run (deleting one deletes its veths), also those a failed set-up did not finish.
  const list = await root.run('ip', ['netns', 'list']).catch(() => ({ stdout: '' }));
  const mine = list.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`${prefix}-`));
  await Promise.allSettled(mine.map((n) => root.run('ip', ['netns', 'del', n])));
}

describe('nft host port forwarder in real namespaces', () => {
  let forwarder: HostPortForwarder;

  before(async () => {
    try {
      for (const n of ['host', 'agent', 'peer'] as const) await sh(undefined, `ip netns add ${ns(n)} && ip -n ${ns(n)} link set lo up`);
      await sh('host', `ip link add br0 type bridge && ip addr add ${VIA}/24 dev br0 && ip link set br0 up`);
      for (const [n, address] of [
        ['agent', AGENT],
        ['peer', PEER],
      ] as const) {
        await sh(undefined, `ip link add eth0 netns ${ns(n)} type veth peer name ${n} netns ${ns('host')}`);
        await sh('host', `ip link set ${n} master br0 && ip link set ${n} up`);
        await sh(n, `ip addr add ${address}/24 dev eth0 && ip link set eth0 up && ip route add default via ${VIA}`);
      }
      // Both off (a fresh namespace may inherit forwarding from the machine's): the forwarder turns them on.
      await sh('agent', 'sysctl -qw net.ipv4.ip_forward=0 net.ipv4.conf.all.route_localnet=0');
      await listen();
      forwarder = createNftHostPortForwarder({ via: VIA, table: TABLE, netns: nsPath('agent'), logger: silentLogger() });
    } catch (err) {
      await cleanup();
      throw err;
    }
  });

  after(cleanup);

  it('before anything is published the ports are closed at the agent (they live on the host)', async () => {
    assert.equal(await tcp('agent', VIA, PUBLISHED), `hello-${PUBLISHED}`, 'the host serves it');
    assert.equal(await tcp('agent', '127.0.0.1', PUBLISHED), 'refused');
    assert.equal(await tcp('peer', AGENT, PUBLISHED), 'refused');
  });

  it("a published port is reached at the agent's localhost, at its address from itself and from a peer; others stay closed", async () => {
    await forwarder.publish('c1', [
      { protocol: 'tcp', hostPort: PUBLISHED },
      { protocol: 'udp', hostPort: UDP },
    ]);
    assert.equal((await sh('agent', 'sysctl -n net.ipv4.ip_forward net.ipv4.conf.all.route_localnet')).split('\n').join(' ').trim(), '1 1');
    assert.equal(await tcp('agent', '127.0.0.1', PUBLISHED), `hello-${PUBLISHED}`);
    assert.equal(await tcp('agent', AGENT, PUBLISHED), `hello-${PUBLISHED}`);
    assert.equal(await tcp('peer', AGENT, PUBLISHED), `hello-${PUBLISHED}`);
    assert.equal(await udp('peer', AGENT, UDP), `pong-${UDP}`);
    assert.equal(await udp('agent', '127.0.0.1', UDP), `pong-${UDP}`);
    assert.equal(await tcp('agent', '127.0.0.1', OTHER), 'refused', 'a port not published stays closed');
    assert.equal(await tcp('peer', AGENT, OTHER), 'refused');
  });

  it('publishing again is idempotent; unpublish closes the port; recover replaces the set', async () => {
    await forwarder.publish('c1', [{ protocol: 'tcp', hostPort: PUBLISHED }]);
    await forwarder.publish('c1', [{ protocol: 'tcp', hostPort: PUBLISHED }]);
    assert.equal(await tcp('peer', AGENT, PUBLISHED), `hello-${PUBLISHED}`);
    assert.equal(await udp('peer', AGENT, UDP), 'silent', 'c1 no longer publishes the UDP port');
    await forwarder.unpublish('c1');
    assert.equal(await tcp('agent', '127.0.0.1', PUBLISHED), 'refused');
    assert.equal(await tcp('peer', AGENT, PUBLISHED), 'refused');
    // A new agent process: its forwarder knows nothing, recover writes what the containers publish.
    const next = createNftHostPortForwarder({ via: VIA, table: TABLE, netns: nsPath('agent'), logger: silentLogger() });
    await next.recover(new Map([['c2', [{ protocol: 'tcp' as const, hostPort: OTHER }]]]));
    assert.equal(await tcp('peer', AGENT, OTHER), `hello-${OTHER}`);
    assert.equal(await tcp('peer', AGENT, PUBLISHED), 'refused');
    const table = await sh('agent', `nft list table ip ${TABLE}`);
    assert.match(table, new RegExp(`elements = \\{ tcp \\. ${OTHER} \\}`));
    await next.recover(new Map());
    assert.equal(await tcp('peer', AGENT, OTHER), 'refused');
  });
});
