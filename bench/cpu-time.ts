import { readdirSync, readFileSync } from 'node:fs';
import type { TestStack } from '@caregrid/devkit';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/**
 * CPU time (user + system, ms) a process has used so far, from /proc: a process's own cost per
 * request, which holds up on a busy machine where throughput swings with the neighbours' load.
 */
export function cpuMs(pid: number): number {
  // Fields after the command name (which may hold spaces), from field 3 (state): utime is 14, stime 15.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** "<app> app" and "<app> daprd" → pid, for every app of a test stack named. */
export function stackProcesses(stack: TestStack, apps: string[]): Record<string, number> {
  return Object.fromEntries(
    apps.flatMap((app) => {
      const member = stack.member(app);
      return [
        [`${app} app`, member.process.child.pid!],
        [`${app} daprd`, member.sidecar.child.pid!],
      ];
    }),
  );
}

/**
 * The local servers' processes by kind (PostgreSQL with every backend, Kafka, FerretDB, MariaDB), by
 * their command line: a stack's databases and topics live in them, so their CPU is the stack's too
 * when nothing else runs.
 */
export function serverProcesses(): Record<string, number[]> {
  const kinds: [string, RegExp][] = [
    ['PostgreSQL (all processes)', /^postgres/],
    ['Kafka', /^java .* kafka/],
    ['FerretDB', /ferretdb/],
    ['MariaDB', /^\S*(mariadbd|mysqld)/],
  ];
  const found: Record<string, number[]> = {};
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let command: string;
    try {
      command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue; // gone meanwhile
    }
    const kind = kinds.find(([, pattern]) => pattern.test(command));
    if (kind) (found[kind[0]] ??= []).push(Number(entry));
  }
  return found;
}

/** CPU ms of a group of processes; one that has gone since counts as 0 (its time is lost, not wrong). */
export function groupCpuMs(pids: number[]): number {
  return pids.reduce((sum, pid) => {
    try {
      return sum + cpuMs(pid);
    } catch {
      return sum;
    }
  }, 0);
}
