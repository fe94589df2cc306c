import { spawn, type ChildProcess } from 'node:child_process';
import { packageBin } from '@ippc/core/testing';

// Runs ippc-ipam-server as a real process (for crash tests and benchmarks).

export const SERVER_BIN = packageBin('@ippc/ipam', 'ippc-ipam-server');

export interface ServerProcess {
  child: ChildProcess;
  address: string;
  httpPort: number | null;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startServerProcess(args: string[], env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER_BIN, '--listen', '127.0.0.1:0', ...args], {
    env: { ...process.env, IPPC_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`ippc-ipam-server did not start in 30 s: ${stderr}`)), 30_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`ippc-ipam-server exited before serving: ${stderr}`));
    });
  });
  const info = JSON.parse(line) as { grpcPort: number; httpPort: number | null };
  return {
    child,
    address: `127.0.0.1:${info.grpcPort}`,
    httpPort: info.httpPort,
    exited,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
