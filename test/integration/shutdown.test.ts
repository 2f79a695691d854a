/**
 * Graceful stop of a real service (patient-service and its daprd, on
 * PostgreSQL): on SIGTERM it first says "not ready" while still serving, so
 * load balancers (here the launcher's routing by readiness) stop sending before
 * anything is refused; then it closes and exits cleanly.
 */
import { startTestStack, type TestStack } from '@caregrid/devkit';

const DRAIN_MS = 2_000;
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ apps: ['patient-service'], env: { 'patient-service': { SHUTDOWN_DRAIN_MS: String(DRAIN_MS) } } });
}, 180_000);

afterAll(() => stack?.stop());

it('SIGTERM: readiness off at once, out of rotation, requests still served through the drain, then a clean exit', async () => {
  const member = stack.member('patient-service');
  const app = stack.url('patient-service');
  // What its sidecar sends for a request routed to it before it left the rotation.
  const asSidecar = () => fetch(`${app}/openapi.json`, { headers: { 'dapr-api-token': member.appApiToken! } });
  expect((await fetch(`${app}/readyz`)).status).toBe(200);
  expect((await asSidecar()).status).toBe(200);

  const exited = member.process.exited;
  const signalledAt = Date.now();
  member.process.child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect((await fetch(`${app}/readyz`)).status).toBe(503);
  expect((await fetch(`${app}/healthz`)).status).toBe(200);
  expect((await asSidecar()).status).toBe(200);

  await new Promise((resolve) => setTimeout(resolve, DRAIN_MS / 2));
  // The launcher saw it not ready: callers' sidecars no longer resolve patient-service to it.
  expect(member.inRotation).toBe(false);
  expect((await asSidecar()).status).toBe(200);

  expect(await exited).toBe(0);
  expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(DRAIN_MS);
  await expect(fetch(`${app}/healthz`)).rejects.toThrow();
});
