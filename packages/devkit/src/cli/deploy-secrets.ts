/**
 * `npm run deploy:secrets -- <compose | k8s/overlays/<name>> [--rotate-signing-key]`:
 * fills the target's secret templates with random values (kept across runs)
 * and renders the gateway's JWT policy with auth's public keys. See
 * deploy-secrets.ts for what each target gets.
 */
import path from 'node:path';
import { renderDeploySecrets } from '../deploy-secrets.js';
import { repoRoot } from '../paths.js';

const ROTATE = '--rotate-signing-key';
const args = process.argv.slice(2);
const target = args.find((a) => !a.startsWith('--'));
// An unknown flag (`--rotate`) would otherwise re-render without rotating, and say nothing.
const unknown = args.filter((a) => a.startsWith('--') && a !== ROTATE);
if (!target || unknown.length > 0) {
  if (unknown.length > 0) console.error(`unknown option ${unknown.join(', ')}`);
  console.error(`usage: npm run deploy:secrets -- <compose | k8s/overlays/dev | k8s/overlays/prod> [${ROTATE}]`);
  process.exit(2);
}
try {
  const rotateSigningKey = args.includes(ROTATE);
  const written = await renderDeploySecrets(target, { rotateSigningKey });
  for (const file of written) console.log(`wrote ${path.relative(repoRoot, file)}`);
  // The new keys file reaches auth-service's sidecar only when Compose recreates it.
  if (rotateSigningKey && target === 'compose') console.log('new signing key: now run `docker compose up -d`');
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
