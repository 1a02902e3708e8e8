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
 * Starts `node <args>` and waits for its `server.listening` JSON line on stdout.
 * RSS is sampled every 100 ms for as long as it runs.
 */
export async function startProcess(name: string, args: string[], env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, args, {
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

/**
 * Callboard runs exactly as `npm start` runs it: package.json's start script without its leading `node` (the
 * compiled server and its V8 options). Run `npm run build` first. The throughput baselines are TypeScript, run
 * through tsx; the memory baselines are plain JavaScript, so that no loader weighs on their RSS.
 */
export const CALLBOARD_ARGS = startScriptArgs();
const tsx = (script: string) => ['--import', 'tsx', script];
export const BASELINE_ARGS = tsx('bench/servers/baseline.ts');
export const POSTGRAPHILE_ARGS = tsx('bench/servers/postgraphile.ts');
export const BARE_NODE_ARGS = ['bench/servers/bareNode.js'];
export const PGLITE_ALONE_ARGS = ['bench/servers/pgliteAlone.js'];

function startScriptArgs(): string[] {
  const { scripts } = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } };
  const [command, ...args] = scripts.start.split(/\s+/);
  if (command !== 'node') throw new Error(`package.json's start script no longer starts with node: ${scripts.start}`);
  return args;
}
