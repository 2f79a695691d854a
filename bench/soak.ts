/**
 * `npm run soak -- --minutes 5 --rate 40 --fault kafka-restart:10 --fault kill-app:analytics-service`
 * `npm run soak -- --search --mix reads --p99 100`
 *
 * A benchmark with a verdict: a whole stack (every service with its daprd, on a Kafka broker of
 * its own so that it can be restarted), a busy clinic's mixed load at a fixed rate, faults while
 * it runs, then a reconciliation of every promise against what the load did. Prints the table
 * (promise, expected, got, time to settle) and exits 1 on any mismatch.
 *
 * With --search it finds the sustained rate instead (issue 26): trials of --seconds (30) each on
 * one stack, doubling from --rate then bisecting to --precision (0.1), where a rate is sustained
 * when it was offered in full, every promise held within --settle (30) s of the load, p99 stayed
 * under --p99 ms and no answer was a server error. Prints each trial and the rate; exits 0.
 *
 * Flags: --minutes m | --seconds s (default 60 s; 30 s per trial with --search), --rate ops/s (30),
 * --connections n (32), --mix clinic | reads | bookings (clinic), --fault f (repeatable:
 * kafka-restart[:down s], kill-app:<app-id>, kill-sidecar:<app-id>, pause-db:<postgres|mariadb|ferretdb>[:s];
 * default: none), --settle s (120; 30 with --search), --search, --p99 ms (250), --precision, --max ops/s.
 */
import { parseArgs } from 'node:util';
import {
  describeFault,
  judgeTrial,
  nextRate,
  parseFault,
  runSoak,
  SOAK_MIXES,
  soakTable,
  startSoakStack,
  sustainedRate,
  trialTable,
  waitForQuiet,
  type SoakMix,
  type Trial,
} from '@caregrid/devkit';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    seconds: { type: 'string' },
    rate: { type: 'string', default: '30' },
    connections: { type: 'string', default: '32' },
    mix: { type: 'string', default: 'clinic' },
    fault: { type: 'string', multiple: true, default: [] },
    settle: { type: 'string' },
    search: { type: 'boolean', default: false },
    p99: { type: 'string', default: '250' },
    precision: { type: 'string', default: '0.1' },
    max: { type: 'string' },
  },
});
if (!(values.mix in SOAK_MIXES)) throw new Error(`--mix is one of ${Object.keys(SOAK_MIXES).join(', ')}`);
const mix = values.mix as SoakMix;
const seconds = values.minutes ? Number(values.minutes) * 60 : Number(values.seconds ?? (values.search ? 30 : 60));
const settleSeconds = Number(values.settle ?? (values.search ? 30 : 120));
const connections = Number(values.connections);
const faults = values.fault.map(parseFault);
const say = (line: string) => console.log(`\u001b[1;35m[soak]\u001b[0m ${line}`);

say(
  values.search
    ? `searching the sustained rate of the ${mix} mix: ${seconds} s trials from ${values.rate}/s, p99 < ${values.p99} ms, promises within ${settleSeconds} s, ${connections} connections`
    : `starting a stack on a broker of its own (${seconds} s of the ${mix} mix at ${values.rate} operations/s, ${connections} connections)`,
);
say(`faults: ${faults.length ? faults.map(describeFault).join('; ') : 'none'}`);
const { stack, kafka, stop } = await startSoakStack();
let ok = false;
try {
  if (values.search) {
    const goal = { seconds, p99Ms: Number(values.p99), settleSeconds };
    const searchOptions = {
      start: Number(values.rate),
      precision: Number(values.precision),
      max: values.max ? Number(values.max) : undefined,
    };
    const trials: Trial[] = [];
    for (let rate = nextRate(trials, searchOptions); rate !== undefined; rate = nextRate(trials, searchOptions)) {
      say(`trial ${trials.length + 1}: ${rate} operations/s`);
      const report = await runSoak(stack, kafka, { rate, seconds, connections, faults, settleSeconds, mix, progress: say });
      const trial = judgeTrial(report, rate, goal);
      trials.push(trial);
      say(`${rate}/s ${trial.sustained ? 'sustained' : `not sustained: ${trial.reasons.join('; ')}`}`);
      if (!(await waitForQuiet(stack, 300_000, say))) say('the backlog did not drain within 300 s: the next trial starts on it');
    }
    console.log(`\n${trialTable(trials)}\n`);
    const found = sustainedRate(trials);
    say(found === undefined ? 'no rate was sustained' : `sustained rate of the ${mix} mix: ${found} operations/s`);
    ok = true;
  } else {
    const report = await runSoak(stack, kafka, {
      rate: Number(values.rate),
      seconds,
      connections,
      faults,
      settleSeconds,
      mix,
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
  }
} finally {
  await stop();
}
process.exit(ok ? 0 : 1);
