/**
 * `npm run smoke -- [--url http://127.0.0.1:4004]`: the end-to-end smoke run
 * through a running gateway (launcher, Compose or a port-forwarded cluster).
 * The bootstrap admin comes from CAREGRID_ADMIN_EMAIL / CAREGRID_ADMIN_PASSWORD,
 * or from the local secrets of `npm run dev`.
 */
import { readSecrets } from '../provision.js';
import { runSmoke } from '../smoke.js';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
};
const baseUrl = (flag('--url') ?? 'http://127.0.0.1:4004').replace(/\/$/, '');
const local = readSecrets()['auth-service'] ?? {};
const adminEmail = process.env.CAREGRID_ADMIN_EMAIL ?? local.bootstrapAdminEmail ?? 'admin@caregrid.local';
const adminPassword = process.env.CAREGRID_ADMIN_PASSWORD ?? local.bootstrapAdminPassword;
if (!adminPassword) {
  console.error('set CAREGRID_ADMIN_PASSWORD (the bootstrap admin password of that deployment)');
  process.exit(2);
}
try {
  console.log(`smoke run against ${baseUrl}`);
  const { steps, invoice } = await runSmoke({ baseUrl, adminEmail, adminPassword, log: (line) => console.log(line) });
  console.log(`smoke passed: ${steps} steps, invoice ${invoice}`);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
