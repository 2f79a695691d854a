/**
 * Zero trust between sidecars, with real daprd and Dapr Sentry: every
 * sidecar-to-sidecar call is mutual TLS with a certificate from Sentry, which
 * names an app-id only for the holder of that app's token, a sidecar without
 * one (or with one from another CA) cannot call in, and the
 * callee's sidecar lets through only what its access control list
 * (dapr/config/caregrid.yaml, derived from the access model) allows — for
 * every route of every service, from the gateway, a peer and a stranger.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { DAPR_NAMESPACE, ENDPOINTS, SIDECAR, invocationGrants, isServiceOnly } from '@caregrid/platform';
import {
  eventually,
  freePort,
  freeSidecarPorts,
  generateSentryTokenKey,
  localMtls,
  logsDir,
  renderConfigurations,
  renderResources,
  sentryTokenFile,
  startSentry,
  startSidecar,
  uniqueName,
  type ManagedProcess,
  type MtlsSettings,
  type RunningSidecar,
} from '@caregrid/devkit';

const runId = uniqueName('zero-trust');
const dir = mkdtempSync(path.join(tmpdir(), 'caregrid-zero-trust-'));
const logDir = path.join(logsDir, 'tests', runId);
const configFile = path.join(dir, 'config', 'caregrid.yaml');
const resources = renderResources({ components: [], scopes: [] });

/** What reached each app: `METHOD /path` per request. */
const received = new Map<string, string[]>();
const servers: Server[] = [];
const processes: ManagedProcess[] = [];
const sidecars = new Map<string, RunningSidecar & { internalPort: number }>();

async function echoApp(appId: string): Promise<number> {
  const port = await freePort();
  received.set(appId, []);
  const server = createServer((req: IncomingMessage, res) => {
    if (req.url !== '/healthz') received.get(appId)!.push(`${req.method} ${req.url}`);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ app: appId, caller: req.headers['dapr-caller-app-id'] ?? null }));
  });
  servers.push(server.listen(port, '127.0.0.1'));
  await new Promise((resolve) => server.once('listening', resolve));
  return port;
}

async function sidecarFor(appId: string, options: { name?: string; mtls?: MtlsSettings | false; sentryToken?: string | false } = {}) {
  const ports = await freeSidecarPorts();
  const sidecar = startSidecar({
    appId,
    appPort: await echoApp(options.name ?? appId),
    ...ports,
    resourcesPaths: [resources.dir],
    configFile,
    env: { CAREGRID_SECRETS_FILE: resources.secretsFile },
    logFile: path.join(logDir, `${options.name ?? appId}-daprd.log`),
    mtls: options.mtls,
    sentryToken: options.sentryToken,
  });
  processes.push(sidecar);
  await sidecar.waitReady();
  return { ...sidecar, internalPort: ports.daprInternalGrpcPort };
}

const SERVICES = Object.keys(ENDPOINTS);

beforeAll(async () => {
  renderConfigurations(path.join(dir, 'config'), path.join(dir, 'nameresolution.db'));
  // Every service and the gateway, by their real app-ids, each with an app that answers everything.
  const started = await Promise.all(['gateway', ...SERVICES].map(async (appId) => [appId, await sidecarFor(appId)] as const));
  for (const [appId, sidecar] of started) sidecars.set(appId, sidecar);
}, 120_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

type Invocation = { status: number; body: string };

async function invoke(from: RunningSidecar, callee: string, method: string, route: string): Promise<Invocation> {
  const response = await fetch(`http://127.0.0.1:${from.httpPort}/v1.0/invoke/${callee}/method${route}`, {
    method,
    ...(method === 'GET' || method === 'DELETE' ? {} : { headers: { 'content-type': 'application/json' }, body: '{}' }),
  });
  return { status: response.status, body: await response.text() };
}

/**
 * The first call may race the callee's start: its name-resolution registration,
 * or its sidecar still taking its certificate from Sentry (a cold CI machine
 * answered one 500 from daprd there). Every echo app answers 200, so a 5xx is
 * daprd's own; it is tried again, and after 30 s the last answer is what fails.
 */
const firstCall = async (from: RunningSidecar, callee: string, method: string, route: string) => {
  let last: Invocation | undefined;
  try {
    return await eventually(async () => {
      last = await invoke(from, callee, method, route);
      return last.status >= 500 && /ERR_DIRECT_INVOKE|no host/i.test(last.body) ? undefined : last;
    });
  } catch {
    return last!;
  }
};

/** A route of the endpoint table with its parameters filled in. */
const concrete = (expressPath: string) => expressPath.replace(/:[a-zA-Z]+/g, 'x-1');

/** The TLS certificate a sidecar's internal port presents, to a client that trusts Sentry's root. */
function peerCertificate(
  port: number,
  ca: string,
): Promise<{ certificate: PeerCertificate; authorized: boolean; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined }, () => {
      resolve({ certificate: socket.getPeerCertificate(), authorized: socket.authorized, protocol: socket.getProtocol() });
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('mTLS between sidecars (Dapr Sentry)', () => {
  it('encrypts a call between two sidecars, each with a Sentry-issued SPIFFE identity', async () => {
    const gateway = sidecars.get('gateway')!;
    const call = await firstCall(gateway, 'patient-service', 'GET', '/patients/p-1');
    expect(call).toMatchObject({ status: 200 });
    expect(JSON.parse(call.body)).toEqual({ app: 'patient-service', caller: 'gateway' });
    for (const sidecar of sidecars.values()) expect(sidecar.mtlsState()).toBe('on');
    // The sidecar-to-sidecar port speaks TLS only, with a certificate chaining to Sentry's root
    // that names the app by its SPIFFE id.
    const { certificate, authorized, protocol } = await peerCertificate(
      sidecars.get('patient-service')!.internalPort,
      localMtls().trustAnchors,
    );
    expect(authorized).toBe(true);
    expect(protocol).toMatch(/^TLSv1\.[23]$/);
    expect(certificate.subjectaltname).toContain('URI:spiffe://public/ns/caregrid/patient-service');
  });

  it("signs a certificate naming the gateway only for a sidecar showing the gateway's Sentry token", async () => {
    const { tokenSigningKey } = localMtls();
    /** A daprd calling itself the gateway, showing Sentry `sentryToken`: its mTLS state, or why it could not start. */
    const claimGateway = async (name: string, sentryToken: string | false) =>
      sidecarFor('gateway', { name, sentryToken }).then(
        async (sidecar) => {
          const started = sidecar.mtlsState();
          await sidecar.stop();
          return { started };
        },
        () => ({
          refused: /failed to retrieve the initial identity: (.*?)\\nno X509 SVID/.exec(
            readFileSync(path.join(logDir, `${name}-daprd.log`), 'utf8'),
          )?.[1],
        }),
      );
    // No token: Sentry has no validator for an anonymous request (its "insecure" one is off).
    expect(await claimGateway('gateway-without-token', false)).toEqual({
      refused: expect.stringMatching(/InvalidArgument desc = a validator name must be specified in this environment$/),
    });
    // A token of another app (what a compromised analytics-service holds): it names another SPIFFE id.
    const analyticsToken = sentryTokenFile(tokenSigningKey, 'analytics-service', DAPR_NAMESPACE);
    expect(await claimGateway('gateway-with-analytics-token', analyticsToken)).toEqual({
      refused: expect.stringMatching(/PermissionDenied desc = token validation failed: .*"sub.* not satisfied/),
    });
    // The gateway's claims, signed with a key that is not the launcher's.
    const forged = sentryTokenFile(generateSentryTokenKey(path.join(dir, 'forger')), 'gateway', DAPR_NAMESPACE);
    expect(await claimGateway('gateway-with-forged-token', forged)).toEqual({
      refused: expect.stringMatching(/PermissionDenied desc = token validation failed: /),
    });
    // The gateway's own token (what the launcher hands the gateway's sidecar alone).
    expect(await claimGateway('gateway-with-its-token', sentryTokenFile(tokenSigningKey, 'gateway', DAPR_NAMESPACE))).toEqual({
      started: 'on',
    });
  });

  it('refuses a sidecar without a certificate, even one calling itself the gateway', async () => {
    const before = received.get('patient-service')!.length;
    const impostor = await sidecarFor('gateway', { name: 'gateway-without-mtls', mtls: false });
    expect(impostor.mtlsState()).toBe('off');
    const call = await invoke(impostor, 'patient-service', 'GET', '/patients/p-1');
    // Plaintext gRPC to a TLS-only port: the callee hangs up before any HTTP/2 exchange.
    expect(call).toMatchObject({
      status: 500,
      body: expect.stringMatching(/code = Unavailable desc = .*(EOF|broken pipe|connection reset)/),
    });
    expect(received.get('patient-service')!.length).toBe(before);
    await impostor.stop();
  });

  it('refuses a sidecar whose certificate comes from another CA', async () => {
    const otherCa = await startSentry({ dir: path.join(dir, 'other-sentry'), logFile: path.join(logDir, 'other-sentry.log') });
    processes.push(otherCa);
    const before = received.get('patient-service')!.length;
    // It even trusts our root, so it accepts the callee's certificate: the callee must refuse its own.
    const impostor = await sidecarFor('gateway', {
      name: 'gateway-other-ca',
      mtls: {
        sentryAddress: otherCa.sentryAddress,
        trustAnchors: otherCa.trustAnchors + localMtls().trustAnchors,
        tokenSigningKey: otherCa.tokenSigningKey,
      },
    });
    expect(impostor.mtlsState()).toBe('on');
    const call = await invoke(impostor, 'patient-service', 'GET', '/patients/p-1');
    // Refused by the callee during the TLS handshake: its alert, or the connection it closed.
    expect(call).toMatchObject({
      status: 500,
      body: expect.stringMatching(/code = Unavailable desc = .*(remote error: tls: bad certificate|broken pipe|connection reset)/),
    });
    expect(received.get('patient-service')!.length).toBe(before);
    await impostor.stop();
  });
});

describe('Dapr access control lists (callee side, on the mTLS identity)', () => {
  const grants = invocationGrants();
  const cases = SERVICES.flatMap((callee) =>
    Object.entries(ENDPOINTS[callee]!).map(([key, access]) => {
      const [method, route] = key.split(' ') as [string, string];
      return { callee, method, route, access };
    }),
  );

  it('lets the gateway call every client route of every service, and no sidecar-only route', async () => {
    const gateway = sidecars.get('gateway')!;
    const outcomes = [];
    for (const { callee, method, route, access } of cases) {
      const call = await firstCall(gateway, callee, method, concrete(route));
      outcomes.push({
        callee,
        key: `${method} ${route}`,
        status: call.status,
        expected: access === SIDECAR || isServiceOnly(access) ? 403 : 200,
      });
    }
    expect(outcomes.filter((o) => o.status !== o.expected)).toEqual([]);
    // The merged API document is read from every service.
    for (const callee of SERVICES) expect((await invoke(gateway, callee, 'GET', '/openapi.json')).status).toBe(200);
  });

  it("lets appointment-service read patients and doctors (by id; the ACL cannot tell the bare collection apart) and auth-service's public key set, nothing else", async () => {
    const peer = sidecars.get('appointment-service')!;
    const outcomes = [];
    for (const { callee, method, route } of cases.filter((c) => c.callee !== 'appointment-service')) {
      const granted = grants['appointment-service']![callee] ?? [];
      // Dapr's operation matching cannot tell `/patients/*` from `/patients` (a trailing `*`
      // also matches the empty segment): the collection passes the ACL, and patient-service's
      // own check refuses it (appointment-service holds no list grant; access-control.test.ts).
      const allowed = granted.some((g) => g === `${method} ${route}` || g === `${method} ${route}/:id`);
      const call = await firstCall(peer, callee, method, concrete(route));
      outcomes.push({ callee, key: `${method} ${route}`, status: call.status, expected: allowed ? 200 : 403 });
    }
    expect(outcomes.filter((o) => o.status !== o.expected)).toEqual([]);
    expect(outcomes.filter((o) => o.expected === 200).map((o) => `${o.callee} ${o.key}`)).toEqual([
      'auth-service GET /.well-known/jwks.json',
      'patient-service GET /patients',
      'patient-service GET /patients/:id',
      'doctor-service GET /doctors',
      'doctor-service GET /doctors/:id',
    ]);
  });

  it("lets notification-service read patients and appointments, fetch account mail links and read auth-service's public key set, nothing else", async () => {
    const mailer = await sidecarFor('notification-service');
    const outcomes = [];
    for (const { callee, method, route } of cases.filter((c) => c.callee !== 'notification-service')) {
      const granted = grants['notification-service']![callee] ?? [];
      // As Dapr matches the ACL's operations: a grant's `:param` is its `*`, one segment, which
      // also lets the bare collection and any sibling (`/appointments/slots`) through; the
      // callee's own check refuses those (notification-service holds no list grant).
      const allowed = granted.some((grant) => {
        const [grantedMethod, grantedRoute] = grant.split(' ') as [string, string];
        const pattern = new RegExp(`^${grantedRoute.replace(/:[^/]+/g, '[^/]*')}$`);
        return grantedMethod === method && (pattern.test(concrete(route)) || grantedRoute === `${route}/:id`);
      });
      const call = await firstCall(mailer, callee, method, concrete(route));
      outcomes.push({ callee, key: `${method} ${route}`, status: call.status, expected: allowed ? 200 : 403 });
    }
    expect(outcomes.filter((o) => o.status !== o.expected)).toEqual([]);
    expect(outcomes.filter((o) => o.expected === 200).map((o) => `${o.callee} ${o.key}`)).toEqual([
      'auth-service GET /.well-known/jwks.json',
      'auth-service POST /accounts/mail-requests/:id/link',
      'patient-service GET /patients',
      'patient-service GET /patients/:id',
      'appointment-service GET /appointments',
      'appointment-service GET /appointments/slots',
      'appointment-service GET /appointments/:id',
    ]);
    await mailer.stop();
  });

  it('answers 403 from daprd to a service the model gives no calls (but the public key set), before the app sees anything', async () => {
    const before = received.get('auth-service')!.length;
    const byDoctorService = await firstCall(sidecars.get('doctor-service')!, 'auth-service', 'POST', '/auth/users');
    expect(byDoctorService.status).toBe(403);
    expect(byDoctorService.body).toMatch(/access control policy has denied access to id: spiffe:\/\/public\/ns\/caregrid\/doctor-service/);
    expect(received.get('auth-service')!.length).toBe(before);

    // billing-service calls nobody; it reads only the public key set that verifies its users' tokens.
    const billing = sidecars.get('billing-service')!;
    expect((await firstCall(billing, 'auth-service', 'GET', '/.well-known/jwks.json')).status).toBe(200);
    const keySet = (c: { callee: string; route: string }) => c.callee === 'auth-service' && c.route === '/.well-known/jwks.json';
    for (const { callee, method, route } of cases.filter((c) => c.callee !== 'billing-service' && !keySet(c))) {
      expect([`${callee} ${method} ${route}`, (await firstCall(billing, callee, method, concrete(route))).status]).toEqual([
        `${callee} ${method} ${route}`,
        403,
      ]);
    }
  });
});
