import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  env?: Record<string, string>;
  /** Give up (and report exit code 124) after this long. Default 60 s. */
  timeoutMs?: number;
  /** Bytes written to the command's standard input. */
  stdin?: string;
}

/** Runs a command in a running container and collects its output (Docker's exec API, no CLI). */
export async function execIn(docker: Docker, containerId: string, cmd: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const exec = await docker.getContainer(containerId).exec({
    Cmd: cmd,
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: options.stdin !== undefined,
    Env: Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`),
  });
  const stream = await exec.start({ hijack: true, stdin: options.stdin !== undefined });
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d: Buffer) => (stdout += d.toString()));
  err.on('data', (d: Buffer) => (stderr += d.toString()));
  docker.modem.demuxStream(stream, out, err);
  if (options.stdin !== undefined) {
    stream.write(options.stdin);
    // Half-close so the command sees end of input while we keep reading its output.
    (stream as unknown as { end(): void }).end();
  }
  const timeoutMs = options.timeoutMs ?? 60_000;
  const finished = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', done);
  });
  // The hijacked connection stays open after the command ended unless we close it.
  stream.destroy();
  if (!finished) {
    return { exitCode: 124, stdout, stderr: `${stderr}\n(timed out after ${timeoutMs} ms)` };
  }
  const info = await exec.inspect();
  return { exitCode: info.ExitCode ?? -1, stdout, stderr };
}

/**
 * Starts a long-running command in a container without waiting for it (a detached exec). Its
 * output goes to the container's own standard output and error (PID 1's), so `docker logs` shows
 * it; its pid is written to `pidFile`. The exec id lets the caller ask Docker whether it still runs.
 */
export async function spawnIn(docker: Docker, containerId: string, argv: string[], pidFile: string, env: Record<string, string> = {}): Promise<string> {
  const exec = await docker.getContainer(containerId).exec({
    Cmd: ['sh', '-c', `echo $$ > ${pidFile} && exec "$@" >>/proc/1/fd/1 2>>/proc/1/fd/2`, 'ippc-daemon', ...argv],
    AttachStdout: false,
    AttachStderr: false,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
  });
  const res = (await exec.start({ Detach: true })) as unknown as { destroy?: () => void } | undefined;
  res?.destroy?.();
  return exec.id;
}

/** Whether a detached exec still runs, and how it ended. */
export async function execState(docker: Docker, execId: string): Promise<{ running: boolean; exitCode: number | null }> {
  const info = await docker.getExec(execId).inspect();
  return { running: info.Running, exitCode: info.Running ? null : (info.ExitCode ?? null) };
}
