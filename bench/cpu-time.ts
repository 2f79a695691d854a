import { readFileSync } from 'node:fs';

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
