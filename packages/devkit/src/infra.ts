import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './paths.js';

/** Runs infra/infra.sh (install, build, start what is missing), streaming its progress. */
export function infraUp(components: string[] = []): void {
  const result = spawnSync('bash', [path.join(repoRoot, 'infra', 'infra.sh'), 'up', ...components], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`infra/infra.sh up failed (exit ${result.status ?? result.signal})`);
}
