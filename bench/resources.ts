/**
 * Resident memory (VmRSS) of every app and every daprd of the bench's own
 * stack, and how long each took from start to ready (the stack records when it
 * started each process and when its health check first answered).
 */
import { readFileSync } from 'node:fs';
import type { Figure } from './report.js';
import { ALL_APPS, type System } from './system.js';

/** VmRSS of a process in MiB, from /proc (Linux); undefined when it is gone. */
export function residentMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export function memoryFigures(system: System, when: 'idle' | 'after load'): Figure[] {
  const stack = system.stack;
  if (!stack)
    return [
      { id: `rss.${when}`, label: `resident memory, ${when}`, value: null, unit: 'MiB', note: 'skipped: --gateway (needs the processes)' },
    ];
  const key = when === 'idle' ? 'idle' : 'afterLoad';
  const figures: Figure[] = [];
  let total = 0;
  for (const appId of ALL_APPS) {
    const member = stack.member(appId);
    const app = residentMiB(member.process.child.pid);
    const sidecar = residentMiB(member.sidecar.child.pid);
    total += (app ?? 0) + (sidecar ?? 0);
    figures.push(
      {
        id: `rss.${key}.${appId}`,
        label: `RSS ${when}: ${appId} app`,
        value: app ?? null,
        unit: 'MiB',
        reference: when === 'idle' ? { label: 'goal <', value: 80 } : undefined,
      },
      { id: `rss.${key}.${appId}-daprd`, label: `RSS ${when}: ${appId} daprd`, value: sidecar ?? null, unit: 'MiB' },
    );
  }
  figures.push({ id: `rss.${key}.total`, label: `RSS ${when}: all ${ALL_APPS.length * 2} processes`, value: total, unit: 'MiB' });
  return figures;
}

export function startupFigures(system: System): Figure[] {
  const stack = system.stack;
  if (!stack) return [{ id: 'startup', label: 'start-to-ready', value: null, unit: 's', note: 'skipped: --gateway (needs the processes)' }];
  const figures: Figure[] = [
    {
      id: 'startup.stack',
      label: `stack of ${ALL_APPS.length * 2} processes: start to all routed`,
      value: system.startupMs! / 1000,
      unit: 's',
      note: 'databases provisioned, apps + daprd started, every instance healthy and in rotation',
    },
  ];
  for (const appId of ALL_APPS) {
    const { timings, sidecar } = stack.member(appId);
    const waiting = sidecar.waitingForAppAt();
    figures.push(
      {
        id: `startup.${appId}`,
        label: `start→ready: ${appId} app`,
        value: timings.appReadyAt === undefined ? null : (timings.appReadyAt - timings.appStartedAt) / 1000,
        unit: 's',
        reference: { label: 'goal <', value: 1 },
      },
      {
        id: `startup.${appId}-daprd`,
        label: `start→ready: ${appId} daprd (own start-up)`,
        value: waiting === undefined ? null : (waiting - timings.sidecarStartedAt) / 1000,
        unit: 's',
        note:
          timings.sidecarReadyAt === undefined
            ? ''
            : `healthy after ${((timings.sidecarReadyAt - timings.sidecarStartedAt) / 1000).toFixed(1)} s (waits for the app)`,
      },
    );
  }
  return figures;
}

/** CPU time (user + system) a process has used so far, in seconds; 0 when it is gone. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in clock ticks (100 a second).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * Waits until the stack is quiet — its 14 processes together below 0.15 of a core over a second —
 * so a measurement does not pay for the tail of the one before (consumers still working off its
 * events). Returns how long that took; with --gateway (no processes to watch) it waits 2 s.
 */
export async function settle(system: System, maxMs = 120_000): Promise<number> {
  const began = Date.now();
  const stack = system.stack;
  if (!stack) {
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    return Date.now() - began;
  }
  const pids = ALL_APPS.flatMap((appId) => [stack.member(appId).process.child.pid, stack.member(appId).sidecar.child.pid]);
  const total = () => pids.reduce<number>((sum, pid) => sum + cpuSeconds(pid), 0);
  let before = total();
  while (Date.now() - began < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const now = total();
    if (now - before < 0.15) break;
    before = now;
  }
  return Date.now() - began;
}
