import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { packageBin, waitForLog } from '@ippc/core/testing';

// The components as real processes the suite can kill -9 and start again on the same address:
// the IPAM service, the isolation service and the master. (The node world runs the IPAM and the
// isolation service inside the test process, which a kill -9 would take along.)

const IPAM_BIN = packageBin('@ippc/ipam', 'ippc-ipam-server');
const ISOLATION_BIN = packageBin('@ippc/isolation', 'ippc-isolation-server');
const MASTER_BIN = packageBin('@ippc/master', 'ippc-master');

export interface ComponentProcess {
  name: string;
  address: string;
  proc: ChildProcess;
  exited: Promise<number | null>;
  /** Resident set size in MiB (from /proc), or undefined when gone. */
  rssMiB(): number | undefined;
  /** Sends `signal` (default SIGKILL) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the same command again on the same address; resolves once it serves. */
  restart(): Promise<ComponentProcess>;
}

function launch(
  name: string,
  argv: string[],
  logFile: string,
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  address: (m: RegExpMatchArray) => string,
): Promise<ComponentProcess> {
  const start = async (): Promise<ComponentProcess> => {
    const fd = openSync(logFile, 'a');
    const before = (() => {
      try {
        return readFileSync(logFile, 'utf8').length;
      } catch {
        return 0;
      }
    })();
    const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
    const running = { proc, logFile, exited, log: () => readFileSync(logFile, 'utf8') };
    const m = await waitForLog(running, ready, 60_000, before);
    const self: ComponentProcess = {
      name,
      address: address(m),
      proc,
      exited,
      rssMiB() {
        try {
          const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))?.[1];
          return kb ? Number(kb) / 1024 : undefined;
        } catch {
          return undefined;
        }
      },
      async kill(signal = 'SIGKILL') {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
        await exited;
      },
      restart: start,
    };
    return self;
  };
  return start();
}

/** ippc-ipam-server on `listen` (host:port) with an embedded store in `dataDir`. */
export function startIpamProcess(o: { listen: string; dataDir: string; token: string; logFile: string; cooldownSeconds?: number }): Promise<ComponentProcess> {
  return launch(
    'ipam',
    [
      process.execPath,
      '--import',
      'tsx',
      IPAM_BIN,
      `--listen=${o.listen}`,
      '--http=off',
      `--data_dir=${o.dataDir}`,
      `--cooldown=${o.cooldownSeconds ?? 1}secs`,
    ],
    o.logFile,
    { IPPC_TOKEN: o.token, IPPC_LOG_LEVEL: 'info' },
    /"grpcPort":\s*(\d+)/,
    () => o.listen,
  );
}

/** ippc-isolation-server on `listen` keeping its state in `dataFile`. */
export function startIsolationProcess(o: { listen: string; dataFile: string; token: string; logFile: string }): Promise<ComponentProcess> {
  return launch(
    'isolation',
    [process.execPath, '--import', 'tsx', ISOLATION_BIN, `--listen=${o.listen}`, '--metrics_listen=off', `--data_file=${o.dataFile}`],
    o.logFile,
    { IPPC_TOKEN: o.token },
    /"ready":\s*true/,
    () => o.listen,
  );
}

/** ippc-master on `ip:port` (port 0: any; a restart keeps the port it got). */
export async function startMasterProcess(o: { ip: string; port: number; tokenFile: string; logFile: string; extra?: string[] }): Promise<ComponentProcess> {
  const first = await launch(
    'master',
    [
      process.execPath,
      '--import',
      'tsx',
      MASTER_BIN,
      `--ip=${o.ip}`,
      `--port=${o.port}`,
      `--token_file=${o.tokenFile}`,
      '--allocation_interval=50ms',
      ...(o.extra ?? []),
    ],
    o.logFile,
    {},
    /"address":"([0-9.]+:\d+)"[^\n]*"msg":"master ready"/,
    (m) => m[1]!,
  );
  if (o.port !== 0) return first;
  // Restarts must come back on the same port: the agents know it.
  const port = Number(first.address.split(':')[1]);
  const again = () => startMasterProcess({ ...o, port });
  return { ...first, restart: again };
}
