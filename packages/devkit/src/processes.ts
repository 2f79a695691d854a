import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

export type ManagedProcess = {
  name: string;
  child: ChildProcess;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  stop: (timeoutMs?: number) => Promise<void>;
};

const COLORS = [36, 33, 35, 32, 34, 91, 92, 93, 94, 95, 96];
let nextColor = 0;

/**
 * Spawns a process in its own process group (so Ctrl-C reaches only the
 * launcher, which then stops apps before sidecars), writes its output to a log
 * file and, when `echo` is set, to our stdout with a coloured name prefix.
 */
export function startProcess(options: {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  echo?: boolean;
  /** Sees every output line (e.g. to learn a state the process only logs). */
  onLine?: (line: string) => void;
}): ManagedProcess {
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const color = COLORS[nextColor++ % COLORS.length];
  const prefix = `\u001b[${color}m${options.name.padEnd(22)}|\u001b[0m `;
  // The log closes when both output streams have been read to the end (lines can arrive after exit).
  let open = 2;
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream })
      .on('line', (line) => {
        log.write(`${line}\n`);
        options.onLine?.(line);
        if (options.echo) process.stdout.write(`${prefix}${line}\n`);
      })
      .once('close', () => {
        if (--open === 0) log.end();
      });
  }
  const exited = new Promise<number | string>((resolve) => {
    child.on('error', (error) => {
      if (!log.writableEnded) log.write(`spawn failed: ${error.message}\n`);
      resolve(`spawn error: ${error.message}`);
    });
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });

  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  const stop = async (timeoutMs = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    signalGroup('SIGTERM');
    const timer = setTimeout(() => signalGroup('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  };
  return { name: options.name, child, exited, stop };
}

/** Polls a URL until it answers with one of `statuses`, or throws after `timeoutMs`. */
export async function waitForHttp(
  url: string,
  options: { statuses?: number[]; timeoutMs?: number; abortIf?: Promise<unknown> } = {},
): Promise<void> {
  const statuses = options.statuses ?? [200, 204];
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let aborted: unknown;
  void options.abortIf?.then((reason) => (aborted = reason ?? 'exited'));
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (aborted !== undefined) throw new Error(`process exited (${String(aborted)}) before ${url} answered`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (statuses.includes(response.status)) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} not ready after ${options.timeoutMs ?? 60_000} ms (${last})`);
}
