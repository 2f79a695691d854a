/**
 * The audit trail as a hash chain per service, every process real: entries numbered and linked by
 * the service that wrote them (in the transaction of its outbox insert), kept by analytics-service
 * in FerretDB, and verified (`npm run audit:verify`'s check) against each service's own head. An
 * untouched trail verifies after a burst of traffic and after retention; an entry deleted or
 * altered directly in FerretDB, or the newest one removed, fails verification by name. The
 * tampering is done as the trail store's owner (an insider holding the store itself): neither of
 * analytics-service's logins may delete or alter an entry (audit-roles.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { MongoClient, type Collection } from 'mongodb';
import {
  auditTrailOwnerUrl,
  eventually,
  jsonClient,
  bootstrapAdminAuth,
  startTestStack,
  verifyAuditTrail,
  type TestStack,
  type TrailReport,
} from '@caregrid/devkit';

let stack: TestStack;
let api: ReturnType<typeof jsonClient>;
let admin: Record<string, string>;
let mongo: MongoClient;
let trail: Collection<Record<string, unknown> & { _id: string; seq?: number }>;

const PATIENTS = 8;

beforeAll(async () => {
  stack = await startTestStack({
    apps: ['gateway', 'auth-service', 'patient-service', 'analytics-service'],
    env: { gateway: { RATE_LIMIT_PER_MINUTE: '100000' }, 'analytics-service': { AUDIT_RETENTION_DAYS: '7' } },
  });
  api = jsonClient(stack.url('gateway'));
  admin = await bootstrapAdminAuth(stack);
  mongo = new MongoClient(auditTrailOwnerUrl(stack.secrets()['analytics-service']!.auditWriterUrl!), { serverSelectionTimeoutMS: 5_000 });
  trail = mongo.db().collection('audit');
}, 240_000);

afterAll(async () => {
  await mongo?.close();
  await stack?.stop();
});

const verify = () => verifyAuditTrail(stack.secrets());
const chain = (report: TrailReport, service: string) => report.chains.find((c) => c.service === service);
const problemsOf = async (service: string) => chain(await verify(), service)?.problems ?? [];
/** The trail verified whole once every entry written has arrived (else what is still wrong, or on its way). */
const verified = () =>
  eventually(async () => {
    const report = await verify();
    if (!report.ok) throw new Error(JSON.stringify(report.chains.filter((c) => c.problems.length > 0)));
    const arriving = report.chains.filter((c) => c.headSeq !== null && c.checkpointSeq + c.entries < c.headSeq);
    if (arriving.length > 0) throw new Error(`still arriving: ${JSON.stringify(arriving)}`);
    return report;
  }, 30_000);
/** `npm run audit:verify` against this stack: its exit status and what it printed. */
const verifyCommand = () => {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'packages/devkit/src/cli/audit-verify.ts', '--secrets', stack.secretsFile, '--settle', '0'],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
};
const patientEntries = () =>
  trail
    .find({ service: 'patient-service', seq: { $exists: true } })
    .sort({ seq: 1 })
    .toArray();

describe('the audit hash chain', () => {
  it('after a burst of concurrent reads and writes every service’s chain verifies, numbered 1..n without a gap', async () => {
    const created = await Promise.all(
      Array.from({ length: PATIENTS }, (_, i) =>
        api(
          'POST',
          '/api/patients',
          { name: `Chained ${i}`, email: `chained-${i}-${Date.now()}@example.org`, dateOfBirth: '1980-01-01', gender: 'other' },
          admin,
        ),
      ),
    );
    expect(created.map((r) => r.status)).toEqual(created.map(() => 201));
    const ids = created.map((r) => (r.body as { id: string }).id);
    const answers = await Promise.all([
      ...ids.flatMap((id) => Array.from({ length: 8 }, () => api('GET', `/api/patients/${id}`, undefined, admin))),
      ...Array.from({ length: 10 }, () => api('GET', '/api/patients?limit=5', undefined, admin)),
      ...Array.from({ length: 5 }, () => api('GET', '/api/audit?limit=5', undefined, admin)),
    ]);
    expect(answers.filter((r) => r.status !== 200)).toEqual([]);

    const report = await verified();
    const patients = chain(report, 'patient-service')!;
    // Every request of the burst left an entry of patient-service's (creations and reads), analytics its own.
    expect(patients.entries).toBeGreaterThanOrEqual(PATIENTS * 9 + 10);
    expect((await patientEntries()).map((e) => e.seq)).toEqual(Array.from({ length: patients.entries }, (_, i) => i + 1));
    expect(chain(report, 'analytics-service')!.entries).toBeGreaterThanOrEqual(5);
  });

  it('an entry deleted in FerretDB is a gap at its number', async () => {
    const victim = (await patientEntries())[10]!;
    await trail.deleteOne({ _id: victim._id });
    try {
      expect(await problemsOf('patient-service')).toEqual([
        { kind: 'gap', service: 'patient-service', fromSeq: victim.seq, toSeq: victim.seq },
      ]);
      // The command says so too, and fails.
      expect(verifyCommand()).toMatchObject({
        status: 1,
        output: expect.stringContaining(`patient-service: entries ${victim.seq}..${victim.seq} are missing (deleted)`),
      });
    } finally {
      await trail.insertOne(victim);
    }
    expect((await verify()).ok).toBe(true);
    expect(verifyCommand()).toMatchObject({
      status: 0,
      output: expect.stringMatching(/^ok {3}patient-service: \d+ entries from 1, head \d+$/m),
    });
  });

  it('an entry altered in FerretDB is named by its number and id', async () => {
    const victim = (await patientEntries())[12]!;
    await trail.updateOne({ _id: victim._id }, { $set: { outcome: 'denied', status: 403 } });
    try {
      expect(await problemsOf('patient-service')).toEqual([
        { kind: 'altered', service: 'patient-service', seq: victim.seq, id: victim._id },
      ]);
    } finally {
      await trail.replaceOne({ _id: victim._id }, victim);
    }
    expect((await verify()).ok).toBe(true);
  });

  it('the newest entry removed is a truncated tail: the trail ends before the service’s head', async () => {
    const entries = await patientEntries();
    const newest = entries[entries.length - 1]!;
    await trail.deleteOne({ _id: newest._id });
    try {
      expect(await problemsOf('patient-service')).toEqual([
        { kind: 'truncated', service: 'patient-service', storedSeq: newest.seq! - 1, headSeq: newest.seq },
      ]);
    } finally {
      await trail.insertOne(newest);
    }
    expect((await verify()).ok).toBe(true);
  });

  it('retention removes the old entries, leaves a checkpoint, and what is left still verifies', async () => {
    const entries = await patientEntries();
    const old = entries.slice(0, 20);
    // Entries from before the retention period: their time moved back (the only way to age them in a test).
    await trail.updateMany({ _id: { $in: old.map((e) => e._id) } }, { $set: { at: new Date(Date.now() - 30 * 86_400_000) } });
    const member = stack.member('analytics-service');
    const response = await fetch(`${stack.url('analytics-service')}/audit-retention`, {
      method: 'POST',
      headers: { 'dapr-api-token': member.appApiToken! },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { removed: number }).removed).toBe(old.length);
    expect((await patientEntries())[0]!.seq).toBe(21);
    const report = await verified();
    expect(chain(report, 'patient-service')).toMatchObject({ checkpointSeq: 20, entries: entries.length - 20, problems: [] });
    // And a deletion right after the checkpoint is still caught.
    const first = (await patientEntries())[0]!;
    await trail.deleteOne({ _id: first._id });
    try {
      expect(await problemsOf('patient-service')).toEqual([{ kind: 'gap', service: 'patient-service', fromSeq: 21, toSeq: 21 }]);
    } finally {
      await trail.insertOne(first);
    }
  });
});
