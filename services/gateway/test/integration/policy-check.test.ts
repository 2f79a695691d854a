/**
 * daprd runs an httpPipeline whose middleware component is missing (or out of
 * scope) without it — fail open. The gateway's start-up check must tell a
 * sidecar that enforces the JWT policy from one that does not. Real daprd.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  freePort,
  freeSidecarPorts,
  generateSigningKey,
  renderConfigurations,
  startSidecar,
  writeGeneratedResources,
  type RunningSidecar,
} from '@caregrid/devkit';
import { assertPolicyInForce } from '../../src/http/policy-check.js';

const dir = mkdtempSync(path.join(tmpdir(), 'policy-check-'));
const sidecars: RunningSidecar[] = [];

async function gatewaySidecar(resourcesDir: string): Promise<RunningSidecar> {
  const sidecar = startSidecar({
    appId: 'gateway',
    appPort: await freePort(),
    ...(await freeSidecarPorts()),
    resourcesPaths: [resourcesDir],
    configFile: path.join(dir, 'config', 'gateway.yaml'),
    logFile: path.join(dir, `${path.basename(resourcesDir)}.log`),
  });
  sidecars.push(sidecar);
  await sidecar.waitReady();
  return sidecar;
}

beforeAll(() => renderConfigurations(path.join(dir, 'config'), path.join(dir, 'nr.db')));
afterAll(() => Promise.all(sidecars.map((s) => s.stop())));

it('passes when the sidecar loads the JWT policy', async () => {
  const resources = path.join(dir, 'with-policy');
  writeGeneratedResources(
    { 'auth-service': { signingKeys: JSON.stringify([await generateSigningKey()]) } },
    resources,
    path.join(dir, 'keys'),
  );
  const sidecar = await gatewaySidecar(resources);
  await expect(assertPolicyInForce(sidecar.httpPort)).resolves.toBeUndefined();
});

it('fails when the pipeline names a middleware the sidecar did not load', async () => {
  const resources = path.join(dir, 'without-policy');
  mkdirSync(resources);
  const sidecar = await gatewaySidecar(resources);
  await expect(assertPolicyInForce(sidecar.httpPort)).rejects.toThrow(/does not enforce the JWT policy/);
});
