/**
 * Graceful stop of a real service (patient-service and its daprd, on
 * PostgreSQL): on SIGTERM it first says "not ready" while still serving, so
 * load balancers stop sending before anything is refused; then it closes and
 * exits cleanly.
 */
import { startTestStack, type TestStack } from '@caregrid/devkit';

const DRAIN_MS = 2_000;
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ apps: ['patient-service'], env: { 'patient-service': { SHUTDOWN_DRAIN_MS: String(DRAIN_MS) } } });
}, 180_000);

afterAll(() => stack?.stop());

it('SIGTERM: readiness off at once, requests still served through the drain, then a clean exit', async () => {
  const member = stack.member('patient-service');
  const app = stack.url('patient-service');
  const viaSidecar = `http://127.0.0.1:${member.app.daprHttpPort}/v1.0/invoke/patient-service/method/openapi.json`;
  expect((await fetch(`${app}/readyz`)).status).toBe(200);

  const signalledAt = Date.now();
  member.process.child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect((await fetch(`${app}/readyz`)).status).toBe(503);
  expect((await fetch(`${app}/healthz`)).status).toBe(200);
  expect((await fetch(viaSidecar)).status).toBe(200);

  await new Promise((resolve) => setTimeout(resolve, DRAIN_MS / 2));
  expect((await fetch(viaSidecar)).status).toBe(200);

  expect(await member.process.exited).toBe(0);
  expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(DRAIN_MS);
  await expect(fetch(`${app}/healthz`)).rejects.toThrow();
});
