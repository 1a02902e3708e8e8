/** Load with autocannon over loopback, rounds alternating between the sides, one progress line while it runs. */
import autocannon, { type Options, type Result } from 'autocannon';
import type { ServerProcess } from './proc.ts';

export interface RoundResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  peakRssMiB: number;
}

export interface SideResult {
  side: string;
  rounds: RoundResult[];
  /** Medians over the rounds (peak RSS: the highest). */
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  peakRssMiB: number;
}

export interface Side {
  name: string;
  server: ServerProcess;
  /** autocannon options for this side (url, requests, ...); duration and connections are set by the scenario. */
  load: (round: string) => Options;
  /** Checks a sample response once before measuring; throws if the side answers wrongly. */
  check?: () => Promise<void>;
}

export interface Timing {
  warmupSeconds: number;
  rounds: number;
  roundSeconds: number;
}

const progress = (line: string) => {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${line}`);
};
const progressDone = (line: string) => {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  console.log(line);
};

export async function runLoad(label: string, options: Options): Promise<Result> {
  const instance = autocannon({ timeout: 30, ...options });
  let responses = 0;
  const started = Date.now();
  instance.on('response', () => (responses += 1));
  const timer = setInterval(() => {
    const seconds = (Date.now() - started) / 1000;
    progress(
      `${label}: ${seconds.toFixed(0)}/${options.duration ?? '?'} s, ${responses} responses, ${(responses / Math.max(seconds, 0.001)).toFixed(0)}/s`,
    );
  }, 500);
  try {
    return await instance;
  } finally {
    clearInterval(timer);
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** Warm-up for every side, then `rounds` rounds in which the sides take turns. */
export async function compareSides(scenario: string, sides: Side[], timing: Timing, connections: number): Promise<SideResult[]> {
  for (const side of sides) await side.check?.();
  for (const side of sides) {
    await runLoad(`${scenario} warm-up ${side.name}`, { ...side.load('warmup'), duration: timing.warmupSeconds, connections });
  }
  const rounds = new Map<string, RoundResult[]>(sides.map((side) => [side.name, []]));
  for (let round = 0; round < timing.rounds; round++) {
    // Alternate which side goes first, so neither always follows the other's writes.
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      side.server.resetPeak();
      const result = await runLoad(`${scenario} round ${round + 1}/${timing.rounds} ${side.name}`, {
        ...side.load(`r${round}`),
        duration: timing.roundSeconds,
        connections,
      });
      const entry: RoundResult = {
        requestsPerSecond: result.requests.average,
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        errors: result.errors + result.timeouts,
        non2xx: result.non2xx,
        peakRssMiB: side.server.peakRssMiB(),
      };
      rounds.get(side.name)!.push(entry);
      progressDone(
        `  ${scenario} round ${round + 1}/${timing.rounds} ${side.name}: ${entry.requestsPerSecond.toFixed(1)} req/s, ` +
          `p50 ${entry.p50Ms} ms, p99 ${entry.p99Ms} ms, ${entry.errors + entry.non2xx} failed, RSS ${entry.peakRssMiB.toFixed(0)} MiB`,
      );
    }
  }
  return sides.map((side) => {
    const list = rounds.get(side.name)!;
    return {
      side: side.name,
      rounds: list,
      requestsPerSecond: median(list.map((r) => r.requestsPerSecond)),
      p50Ms: median(list.map((r) => r.p50Ms)),
      p99Ms: median(list.map((r) => r.p99Ms)),
      errors: list.reduce((sum, r) => sum + r.errors + r.non2xx, 0),
      peakRssMiB: Math.max(...list.map((r) => r.peakRssMiB)),
    };
  });
}

/** Fetches once and checks the answer; used before measuring so a broken side fails loudly instead of fast. */
export async function expectOk(url: string, init: RequestInit, check: (body: any) => string | undefined): Promise<void> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${url} answered ${response.status}, not JSON: ${text.slice(0, 300)}`);
  }
  const problem = response.status !== 200 ? `status ${response.status}` : check(body);
  if (problem) throw new Error(`${url}: ${problem}: ${text.slice(0, 500)}`);
}
