/**
 * `npm run admin:recover -- --email <address> [--name <name>]`: auth-service's recover-admin
 * command beside the auth-service sidecar of the running `npm run dev` (README: "No admin left").
 * The account becomes (or is created as) an active admin; the command prints a link that sets
 * its new password.
 */
import { spawnSync } from 'node:child_process';
import { ensureBuilt } from '../../../../scripts/build.js';
import { recoverAdminInvocation } from '../admin-recover.js';
import { defaultRunFile } from '../paths.js';
import { loadRunFile } from '../runfile.js';

const app = loadRunFile(defaultRunFile).find((candidate) => candidate.appId === 'auth-service');
if (!app) {
  console.error(`${defaultRunFile} has no auth-service`);
  process.exit(1);
}
const sidecarUp = await fetch(`http://127.0.0.1:${app.daprHttpPort}/v1.0/healthz/outbound`).then(
  (response) => response.ok,
  () => false,
);
if (!sidecarUp) {
  console.error(`auth-service's sidecar does not answer on port ${app.daprHttpPort}: start the system first (npm run dev)`);
  process.exit(1);
}
await ensureBuilt(['auth-service']);
const run = recoverAdminInvocation(app, process.argv.slice(2));
const result = spawnSync(run.command, run.args, { cwd: run.cwd, env: run.env, stdio: 'inherit' });
process.exit(result.status ?? 1);
