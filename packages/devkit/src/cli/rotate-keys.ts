/**
 * `npm run keys:rotate`: a new ES256 signing key for auth-service. The running
 * gateway sidecar hot-reloads the re-rendered policy and auth's sidecar its key
 * store in about a second; auth-service re-reads its keys within 30 s. Tokens
 * signed with the previous key stay valid until they expire.
 */
import { secretsFile } from '../paths.js';
import { generatedResourcesDir, keysDir, rotateSigningKeys } from '../policy.js';

try {
  const { added, kept, dropped } = await rotateSigningKeys(secretsFile, generatedResourcesDir, keysDir);
  console.log(`new signing key ${added}; previous ${kept} still accepted; ${dropped} older dropped`);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
