/** Servers under test run as child processes; their memory is read from /proc. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ServerProcess {
  name: string;
  url: string;
  child: ChildProcess;
  pid: number;
  /** Resets the peak RSS window. */
  resetPeak(): void;
  /** Highest RSS (MiB) sampled since the last resetPeak. */
  peakRssMiB(): number;
  rssMiB(): number;
  stop(): Promise<void>;
  output(): string;
}

export function rssMiBOf(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export function cpuSecondsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/**
 * Starts `node [nodeArgs] --import tsx <script>` and waits for its `server.listening` JSON line on stdout.
 * RSS is sampled every 100 ms for as long as it runs.
 */
export async function startProcess(
  name: string,
  script: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s:\n${output}`)), 60_000);
    child.stdout!.on('data', () => {
      const match = /"event":"server.listening","url":"([^"]+)"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before listening:\n${output}`));
    });
  });
  const pid = child.pid!;
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiBOf(pid))), 100);
  sampler.unref();
  return {
    name,
    url,
    child,
    pid,
    resetPeak: () => (peak = rssMiBOf(pid)),
    peakRssMiB: () => Math.max(peak, rssMiBOf(pid)),
    rssMiB: () => rssMiBOf(pid),
    output: () => output,
    async stop() {
      clearInterval(sampler);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export const CALLBOARD_SCRIPT = 'src/main.ts';
export const BASELINE_SCRIPT = 'bench/servers/baseline.ts';
export const POSTGRAPHILE_SCRIPT = 'bench/servers/postgraphile.ts';
