/**
 * `npm test`: the real infrastructure first (installed, built and started when
 * missing), then unit tests, then integration tests against it, then the
 * offline checks of Compose, Kubernetes and the GitHub workflows.
 *
 * With CAREGRID_INFRA=containers (a machine with Docker), the databases and
 * Kafka are containers of docker-compose.yml's images started through
 * testcontainers instead of local processes; daprd is built as always.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startContainerInfra, type ContainerInfra } from '../container-infra.js';
import { infraUp } from '../infra.js';
import { infraMode, repoRoot } from '../paths.js';

const say = (message: string) => console.log(`\u001b[1;34m[test]\u001b[0m ${message}`);
const run = (script: string, args: string[] = []) =>
  spawnSync('npm', ['run', '--silent', script, ...(args.length ? ['--', ...args] : [])], { cwd: repoRoot, stdio: 'inherit' }).status ?? 1;

// Each Jest run writes its counts; the last line sums them, so a run that executed nothing shows it.
const results = mkdtempSync(join(tmpdir(), 'caregrid-test-'));
const counted = { passed: 0, failed: 0, skipped: 0 };
const jest = (script: string) => {
  const file = join(results, `${script}.json`);
  const code = run(script, ['--json', `--outputFile=${file}`]);
  if (!existsSync(file)) return code || 1;
  const summary = JSON.parse(readFileSync(file, 'utf8')) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTodoTests: number;
  };
  counted.passed += summary.numPassedTests;
  counted.failed += summary.numFailedTests;
  counted.skipped += summary.numPendingTests + summary.numTodoTests;
  return code;
};

say('static checks (typecheck, lint, format)');
const checks = run('typecheck') || run('lint');
let containers: ContainerInfra | undefined;
if (infraMode() === 'containers') {
  say(
    'infrastructure: daprd, Dapr Sentry, the scheduler, Zipkin and Mailpit, then PostgreSQL, MySQL, MongoDB and Kafka containers (testcontainers)',
  );
  infraUp(['daprd', 'sentry', 'scheduler', 'zipkin', 'mailpit']);
  containers = await startContainerInfra((line) => say(line));
} else {
  say('infrastructure');
  infraUp();
}
// Before the integration tests: the fuzzing test runs schemathesis from the tools' venv.
say('tools (validators and schemathesis, infra/infra.sh tools)');
const tools = spawnSync('bash', ['infra/infra.sh', 'tools'], { cwd: repoRoot, stdio: 'inherit' }).status ?? 1;
// Before the integration tests: the gateway of every test stack serves the built clinic app at /app.
say('clinic app (npm run build:app)');
const app = run('build:app');
say('unit tests');
const unit = jest('test:unit');
say(`integration tests (real daprd, Kafka, PostgreSQL, ${containers ? 'MySQL, MongoDB' : 'MariaDB, FerretDB'})`);
const integration = jest('test:integration');
say('deployment checks (Compose loader, kustomize + Kubernetes and Dapr schemas, actionlint)');
const deploy = jest('test:deploy');
await containers?.stop();
const verdict = (code: number) => (code === 0 ? 'passed' : 'FAILED');
say(
  `static checks: ${verdict(checks)} · tools: ${verdict(tools)} · clinic app build: ${verdict(app)} · unit: ${verdict(unit)} · integration: ${verdict(integration)} · deployment: ${verdict(deploy)}`,
);
// The plain closing line CI reads: every test of every Jest project, summed.
console.log(`tests: ${counted.passed} passed, ${counted.failed} failed, ${counted.skipped} skipped`);
process.exit(checks || tools || app || unit || integration || deploy);
