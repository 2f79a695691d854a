import type { Logger, Sidecar } from '@caregrid/platform';
import type { KeyRing } from './use-cases.js';
import { parseSigningKeys, type SigningKey } from './domain/tokens.js';

/**
 * Signing keys from their secret store, re-read periodically: after a
 * rotation, new tokens use the new key without a restart, while the previous
 * key stays published until tokens it signed expire.
 */
export async function secretStoreKeyRing(options: {
  sidecar: Sidecar;
  store: string;
  secretName: string;
  logger: Logger;
  reloadMs: number;
}): Promise<KeyRing & { stop: () => void }> {
  const load = async () => {
    const secret = await options.sidecar.getSecret(options.secretName, options.store);
    if (!secret.keys) throw new Error(`secret "${options.secretName}" in store "${options.store}" has no "keys"`);
    return parseSigningKeys(secret.keys);
  };
  let keys: SigningKey[] = await load();
  const timer = setInterval(async () => {
    try {
      const next = await load();
      if (next[0]!.kid !== keys[0]!.kid) options.logger.info({ kid: next[0]!.kid }, 'signing key rotated');
      keys = next;
    } catch (error) {
      // The store is briefly unavailable while its sidecar reloads it after a rotation.
      options.logger.warn({ err: error }, 'could not reload signing keys; keeping the current ones');
    }
  }, options.reloadMs);
  timer.unref();
  return { current: () => keys[0]!, all: () => keys, stop: () => clearInterval(timer) };
}
