import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { startContainer, stopContainer } from './container-infra.js';
import { infraMode, repoRoot } from './paths.js';

/** Runs infra/infra.sh (install, build, start what is missing), streaming its progress. */
export function infraUp(components: string[] = []): void {
  const result = spawnSync('bash', [path.join(repoRoot, 'infra', 'infra.sh'), 'up', ...components], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`infra/infra.sh up failed (exit ${result.status ?? result.signal})`);
}

/** Stops the tests' Kafka, wherever it runs (infra/infra.sh's kafka-test or a container), to test an outage. */
export function stopKafka(): void {
  if (infraMode() === 'containers') stopContainer('kafka');
  else spawnSync('bash', [path.join(repoRoot, 'infra', 'infra.sh'), 'down', 'kafka-test'], { stdio: 'ignore' });
}

/** Starts it again and waits until it answers. */
export async function startKafka(): Promise<void> {
  if (infraMode() === 'containers') await startContainer('kafka');
  else infraUp(['kafka-test']);
}
