/**
 * `npm run soak -- --minutes 5 --rate 40 --fault kafka-restart:10 --fault kill-app:analytics-service`
 *
 * A benchmark with a verdict: a whole stack (every service with its daprd, on a Kafka broker of
 * its own so that it can be restarted), a busy clinic's mixed load at a fixed rate, faults while
 * it runs, then a reconciliation of every promise against what the load did. Prints the table
 * (promise, expected, got, time to settle) and exits 1 on any mismatch.
 *
 * Flags: --minutes m | --seconds s (default 60 s), --rate ops/s (30), --connections n (32),
 * --fault f (repeatable: kafka-restart[:down s], kill-app:<app-id>, kill-sidecar:<app-id>,
 * pause-db:<postgres|mariadb|ferretdb>[:s]; default: none), --settle s (120).
 */
import { parseArgs } from 'node:util';
import { describeFault, parseFault, runSoak, soakTable, startSoakStack } from '@caregrid/devkit';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    seconds: { type: 'string' },
    rate: { type: 'string', default: '30' },
    connections: { type: 'string', default: '32' },
    fault: { type: 'string', multiple: true, default: [] },
    settle: { type: 'string', default: '120' },
  },
});
const seconds = values.minutes ? Number(values.minutes) * 60 : Number(values.seconds ?? 60);
const faults = values.fault.map(parseFault);
const say = (line: string) => console.log(`\u001b[1;35m[soak]\u001b[0m ${line}`);

say(`starting a stack on a broker of its own (${seconds} s at ${values.rate} operations/s, ${values.connections} connections)`);
say(`faults: ${faults.length ? faults.map(describeFault).join('; ') : 'none'}`);
const { stack, kafka, stop } = await startSoakStack();
let ok = false;
try {
  const report = await runSoak(stack, kafka, {
    rate: Number(values.rate),
    seconds,
    connections: Number(values.connections),
    faults,
    settleSeconds: Number(values.settle),
    progress: say,
  });
  console.log();
  for (const [operation, statuses] of Object.entries(report.answers)) {
    say(
      `${operation}: ${Object.entries(statuses)
        .map(([status, n]) => `${n}×${status}`)
        .join(', ')}`,
    );
  }
  say(
    `offered ${report.offered} operations (${(report.offered / seconds).toFixed(1)}/s); latency p50 ${report.latencies.p50.toFixed(0)} ms, p99 ${report.latencies.p99.toFixed(0)} ms, max ${report.latencies.max.toFixed(0)} ms`,
  );
  say(`writes sent again with their Idempotency-Key after a 503/504 or no answer: ${report.retries}`);
  for (const fault of report.faults) say(`fault at ${fault.at.toFixed(1)} s: ${fault.fault} (${fault.note})`);
  console.log(`\n${soakTable(report)}\n`);
  ok = report.ok;
  say(ok ? 'every promise reconciled' : 'MISMATCH: a promise does not hold (logs of this stack: ' + stack.logDir + ')');
} finally {
  await stop();
}
process.exit(ok ? 0 : 1);
