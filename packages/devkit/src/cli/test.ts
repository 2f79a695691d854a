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
import { startContainerInfra, type ContainerInfra } from '../container-infra.js';
import { infraUp } from '../infra.js';
import { infraMode, repoRoot } from '../paths.js';

const say = (message: string) => console.log(`\u001b[1;34m[test]\u001b[0m ${message}`);
const run = (script: string) => spawnSync('npm', ['run', '--silent', script], { cwd: repoRoot, stdio: 'inherit' }).status ?? 1;

say('static checks (typecheck, lint, format)');
const checks = run('typecheck') || run('lint');
let containers: ContainerInfra | undefined;
if (infraMode() === 'containers') {
  say('infrastructure: daprd and Dapr Sentry, then PostgreSQL, MySQL, MongoDB and Kafka containers (testcontainers)');
  infraUp(['daprd', 'sentry']);
  containers = await startContainerInfra((line) => say(line));
} else {
  say('infrastructure');
  infraUp();
}
// Before the integration tests: the fuzzing test runs schemathesis from the tools' venv.
say('tools (validators and schemathesis, infra/infra.sh tools)');
const tools = spawnSync('bash', ['infra/infra.sh', 'tools'], { cwd: repoRoot, stdio: 'inherit' }).status ?? 1;
say('unit tests');
const unit = run('test:unit');
say(`integration tests (real daprd, Kafka, PostgreSQL, ${containers ? 'MySQL, MongoDB' : 'MariaDB, FerretDB'})`);
const integration = run('test:integration');
say('deployment checks (Compose loader, kustomize + Kubernetes and Dapr schemas, actionlint)');
const deploy = run('test:deploy');
await containers?.stop();
const verdict = (code: number) => (code === 0 ? 'passed' : 'FAILED');
say(
  `static checks: ${verdict(checks)} · tools: ${verdict(tools)} · unit: ${verdict(unit)} · integration: ${verdict(integration)} · deployment: ${verdict(deploy)}`,
);
process.exit(checks || tools || unit || integration || deploy);
