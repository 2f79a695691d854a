/**
 * The small soak: about 20 s of a busy clinic's mixed load at 32 connections through the
 * gateway of a whole stack, analytics-service's app killed a quarter of the way in (its events
 * pile up and come back as full batches), then every promise reconciled: analytics' counts and
 * revenue, an invoice per payment and none without, a care relation per booking (none once it is
 * cancelled), an audit entry per request of patient data, and nothing parked or stuck anywhere. `npm run soak` is the long
 * version, with more faults.
 */
import { runSoak, soakTable, startSoakStack } from '@caregrid/devkit';

let soak: Awaited<ReturnType<typeof startSoakStack>>;

beforeAll(async () => {
  soak = await startSoakStack();
}, 240_000);

afterAll(async () => {
  await soak?.stop();
});

it('20 s of mixed load with analytics killed in the middle: every promise reconciles, nothing is parked', async () => {
  const report = await runSoak(soak.stack, soak.kafka, {
    rate: 40,
    seconds: 20,
    connections: 32,
    faults: [{ kind: 'kill-app', appId: 'analytics-service' }],
    settleSeconds: 90,
    progress: () => undefined,
  });
  // The promises that do not hold are the message when it fails; the whole table goes to the log.
  console.log(soakTable(report));
  expect(report.checks.filter((c) => c.expected !== c.got)).toEqual([]);
  expect(report.checks.find((c) => c.promise === 'analytics: appointments booked')!.expected).toBeGreaterThan(100);
  expect(report.faults).toEqual([expect.objectContaining({ note: 'the supervisor restarts it' })]);
}, 300_000);
