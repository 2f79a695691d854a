/**
 * `npm run audit:verify [-- --settle <seconds>] [--secrets <file>]`: walks every service's audit
 * hash chain in the trail of the running `npm run dev` (or of the system whose secrets file is
 * given) against each service's own head (README: Audit trail) and
 * exits 1 when an entry is missing, altered or the newest are gone. Entries still travelling
 * (published, not yet stored) look missing for a moment: a failed check is repeated once after
 * `--settle` seconds (default 5) and only what is still wrong is reported.
 */
import { describeChainProblem, verifyAuditTrail } from '../audit-verify.js';
import { readSecrets } from '../provision.js';

const option = (name: string) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};
const settleSeconds = Number(option('--settle') ?? 5);
const secretsFile = option('--secrets');
const secrets = secretsFile ? readSecrets(secretsFile) : readSecrets();

let report = await verifyAuditTrail(secrets);
if (!report.ok && settleSeconds > 0) {
  await new Promise((resolve) => setTimeout(resolve, settleSeconds * 1_000));
  report = await verifyAuditTrail(secrets);
}
for (const chain of report.chains) {
  const where = `from ${chain.checkpointSeq + 1}${chain.headSeq === null ? '' : `, head ${chain.headSeq}`}`;
  console.log(`${chain.problems.length === 0 ? 'ok  ' : 'FAIL'} ${chain.service}: ${chain.entries} entries ${where}`);
  for (const problem of chain.problems) console.log(`     ${describeChainProblem(problem)}`);
}
process.exit(report.ok ? 0 : 1);
