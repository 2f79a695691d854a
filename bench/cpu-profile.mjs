// Preload (NODE_OPTIONS=--import <this file>; Node 20 refuses --cpu-prof there): samples the
// process's CPU from start; each SIGUSR2 writes the profile so far to
// $CPU_PROFILE_DIR/<pid>-<n>.cpuprofile and starts a fresh one. Used by bench/read-path.ts.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';

const dir = process.env.CPU_PROFILE_DIR ?? '.';
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.start');
let n = 0;
process.on('SIGUSR2', () => {
  session.post('Profiler.stop', (error, result) => {
    if (!error) writeFileSync(path.join(dir, `${process.pid}-${++n}.cpuprofile`), JSON.stringify(result.profile));
    session.post('Profiler.start');
  });
});
