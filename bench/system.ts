/**
 * The system under load: a stack of its own (every service with its daprd,
 * real servers, the gateway's rate limit raised) or a running gateway given by
 * URL (then only what goes through the gateway is measured).
 */
import { jsonClient, startTestStack, type TestStack } from '@caregrid/devkit';

export const ALL_APPS = [
  'gateway',
  'auth-service',
  'patient-service',
  'doctor-service',
  'appointment-service',
  'billing-service',
  'analytics-service',
];

export type System = {
  gateway: string;
  /** Headers of a signed-in admin (access tokens live 15 minutes: `renew` before each phase). */
  admin: Record<string, string>;
  api: ReturnType<typeof jsonClient>;
  renew: () => Promise<void>;
  /** Only when the bench started the stack itself: ports, tokens, databases and processes. */
  stack?: TestStack;
  /** Wall time from asking for the stack to every member routed to (own stack only). */
  startupMs?: number;
  stop: () => Promise<void>;
};

/**
 * appointment-service's booking limits lifted for the load: the bench books every slot of a few
 * patients, for days and (the burst) years ahead, where a patient may hold 10 within 180 days.
 */
export const BENCH_BOOKING_LIMITS = { MAX_OPEN_BOOKINGS_PER_PATIENT: String(1_000_000_000), BOOKING_HORIZON_DAYS: String(36_500) };

export async function ownSystem(): Promise<System> {
  const started = Date.now();
  const stack = await startTestStack({
    apps: ALL_APPS,
    // The gateway's per-client limit (600 a minute) would turn the load into 429s: one client sends it all.
    env: { gateway: { RATE_LIMIT_PER_MINUTE: String(1_000_000_000) }, 'appointment-service': BENCH_BOOKING_LIMITS },
  });
  const startupMs = Date.now() - started;
  try {
    const secret = stack.secrets()['auth-service']!;
    // Extended in place, not copied: `renew` replaces the admin headers on this very object.
    const system = await signIn(stack.url('gateway'), secret.bootstrapAdminEmail!, secret.bootstrapAdminPassword!);
    return Object.assign(system, { stack, startupMs, stop: () => stack.stop() });
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

export async function runningSystem(gateway: string, email: string, password: string): Promise<System> {
  return Object.assign(await signIn(gateway, email, password), { stop: async () => undefined });
}

export async function signIn(gateway: string, email: string, password: string): Promise<Omit<System, 'stop'>> {
  const login = async () => {
    const response = await jsonClient(gateway)('POST', '/api/auth/login', { email, password });
    if (response.status !== 200)
      throw new Error(`admin sign-in at ${gateway} answered ${response.status}: ${JSON.stringify(response.body)}`);
    const admin = { authorization: `Bearer ${(response.body as { accessToken: string }).accessToken}` };
    return { admin, api: jsonClient(gateway, admin) };
  };
  const system = {
    gateway,
    ...(await login()),
    renew: async () => {
      Object.assign(system, await login());
    },
  };
  return system;
}
