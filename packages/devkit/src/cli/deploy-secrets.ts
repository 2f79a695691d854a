/**
 * `npm run deploy:secrets -- <compose | k8s/overlays/<name>> [--rotate-signing-key]`:
 * fills the target's secret templates with random values (kept across runs)
 * and renders the gateway's JWT policy with auth's public keys. See
 * deploy-secrets.ts for what each target gets.
 */
import path from 'node:path';
import { renderDeploySecrets } from '../deploy-secrets.js';
import { repoRoot } from '../paths.js';

const args = process.argv.slice(2);
const target = args.find((a) => !a.startsWith('--'));
if (!target) {
  console.error('usage: npm run deploy:secrets -- <compose | k8s/overlays/dev | k8s/overlays/prod> [--rotate-signing-key]');
  process.exit(2);
}
try {
  const written = await renderDeploySecrets(target, { rotateSigningKey: args.includes('--rotate-signing-key') });
  for (const file of written) console.log(`wrote ${path.relative(repoRoot, file)}`);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
