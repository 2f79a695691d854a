import { hash, verify } from '@node-rs/argon2';

/**
 * argon2id with the library's defaults (OWASP: 19 MiB, 2 passes), a fresh
 * random salt per hash, stored as a PHC string that names its own parameters.
 */
export const hashPassword = (password: string) => hash(password);

// A real hash of a throwaway password: checking against it costs what a real
// check costs, so an unknown email answers no faster than a wrong password.
const decoy = hash('decoy password that never matches anything');

export async function checkPassword(storedHash: string | undefined, password: string): Promise<boolean> {
  if (!storedHash) {
    await verify(await decoy, password).catch(() => false);
    return false;
  }
  return verify(storedHash, password).catch(() => false);
}
