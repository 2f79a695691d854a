import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ensureBuilt } from '../../../scripts/build.js';
import { startSidecar, type RunningSidecar } from './daprd.js';
import { repoRoot } from './paths.js';
import { startProcess, waitForHttp, type ManagedProcess } from './processes.js';
import { registryOf, setInRotation, type Registry } from './rotation.js';
import type { ResolvedApp } from './runfile.js';

/**
 * Apps whose port is the public entry: clients call them directly, not through
 * their sidecar, so they get no app API token. Every other app gets one.
 */
export const PUBLIC_APPS: ReadonlySet<string> = new Set(['gateway']);

/** A fresh token per app instance, given to it and to its sidecar (which sends it as dapr-api-token). */
export const appApiTokenFor = (appId: string): Record<string, string> =>
  PUBLIC_APPS.has(appId) ? {} : { APP_API_TOKEN: randomBytes(24).toString('base64url') };

/** Restart delays after a crash: doubling from the first to the last, back to the first once a process stayed up. */
export const RESTART_BACKOFF = { firstMs: 500, maxMs: 10_000, stableMs: 30_000 };

/**
 * How often the launcher asks each app whether it is ready, to route to it or
 * not (see rotation.ts). The apps' drain after SIGTERM must outlast one period
 * plus the registry write: LOCAL_DRAIN_MS, unless the run file sets SHUTDOWN_DRAIN_MS.
 */
export const READINESS_PERIOD_MS = 500;
export const LOCAL_DRAIN_MS = 2_000;

export type StackMember = {
  app: ResolvedApp;
  process: ManagedProcess;
  sidecar: RunningSidecar;
  status: string;
  /** The token the sidecar presents to the app (dapr-api-token); undefined for public apps. */
  appApiToken?: string;
  /**
   * When the app and its sidecar were (last) started and first answered their health checks (epoch ms).
   * daprd reports healthy only once the app listens: its own start is `sidecar.waitingForAppAt()`.
   */
  timings: { appStartedAt: number; appReadyAt?: number; sidecarStartedAt: number; sidecarReadyAt?: number };
  /** Whether callers' sidecars resolve the app-id to this instance (undefined: not known yet, or no SQLite registry). */
  inRotation?: boolean;
  /** Stops the app gracefully (not its sidecar) and starts it again; resolves when it is healthy and routed to again (or says why not in `status`). */
  restartApp: () => Promise<void>;
};

export type Stack = { members: StackMember[]; healthy: boolean; stop: () => Promise<void> };

type Part = 'app' | 'sidecar';

/**
 * Starts each app of a (resolved) run file with its daprd, the way the Dapr
 * CLI would, waits until app and sidecar are healthy, and then supervises
 * them as Kubernetes would: a process that exits on its own is started again
 * after a backoff, and an instance receives invocations only while its app is
 * ready. Used by `npm run dev` and by end-to-end tests (which pass their own
 * ports, resources and secrets file).
 */
export async function startStack(options: {
  apps: ResolvedApp[];
  logDir: string;
  echo?: boolean;
  /** Environment every sidecar gets on top of the defaults (e.g. another secrets file). */
  sidecarEnv?: Record<string, string>;
  onUnexpectedExit?: (member: StackMember, what: Part, code: number | string) => void;
  /** What the supervisor does and why (restarts, routing changes), one line each. */
  log?: (message: string) => void;
}): Promise<Stack> {
  // Our services run compiled (dist/main.js): built first when their sources changed, never stale.
  await ensureBuilt(servicesOf(options.apps));
  let stopping = false;
  const log = options.log ?? (() => undefined);
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stopping) run();
    }, ms);
    timers.add(timer);
  };
  // Processes the launcher stops on purpose (restartApp): their exit is no crash.
  const intended = new WeakSet<ManagedProcess>();

  const launchApp = (app: ResolvedApp, appToken: Record<string, string>): ManagedProcess =>
    startProcess({
      name: app.instanceName ?? app.appId,
      command: app.command[0]!,
      args: app.command.slice(1),
      cwd: app.appDir,
      // What the Dapr CLI exports to an app, plus the run file's env.
      env: {
        ...globalThis.process.env,
        SHUTDOWN_DRAIN_MS: String(LOCAL_DRAIN_MS),
        ...app.env,
        ...appToken,
        APP_ID: app.appId,
        APP_PORT: String(app.appPort),
        DAPR_HTTP_PORT: String(app.daprHttpPort),
        DAPR_GRPC_PORT: String(app.daprGrpcPort),
      },
      logFile: path.join(options.logDir, `${app.instanceName ?? app.appId}.log`),
      echo: options.echo,
    });
  const launchSidecar = (app: ResolvedApp, appToken: Record<string, string>): RunningSidecar =>
    startSidecar({
      ...app,
      env: { ...app.env, ...options.sidecarEnv, ...appToken },
      logFile: path.join(options.logDir, `${app.instanceName ?? app.appId}-daprd.log`),
    });

  const registries = new Map<string, Registry | undefined>(options.apps.map((a) => [a.configFile, registryOf(a.configFile)]));
  const members = options.apps.map((app): StackMember => {
    // One token per instance, shared by the app and its sidecar (and kept across restarts).
    const appToken = appApiTokenFor(app.appId);
    const name = app.instanceName ?? app.appId;
    const delays: Record<Part, number> = { app: RESTART_BACKOFF.firstMs, sidecar: RESTART_BACKOFF.firstMs };

    const supervise = (what: Part, handle: ManagedProcess) => {
      const startedAt = Date.now();
      void handle.exited.then((code) => {
        if (stopping || intended.has(handle)) return;
        options.onUnexpectedExit?.(member, what, code);
        if (Date.now() - startedAt >= RESTART_BACKOFF.stableMs) delays[what] = RESTART_BACKOFF.firstMs;
        const delay = delays[what];
        delays[what] = Math.min(delay * 2, RESTART_BACKOFF.maxMs);
        member.status = `${what} exited (${code}), restarting`;
        log(`${name} ${what} exited (${code}); restarting it in ${delay} ms`);
        later(delay, () => {
          // Replaced meanwhile (a test's restartApp after killing it): one process per instance.
          if ((what === 'app' ? member.process : member.sidecar) !== handle) return;
          if (what === 'app') {
            member.process = launchApp(app, appToken);
            member.timings = { ...member.timings, appStartedAt: Date.now(), appReadyAt: undefined };
            supervise('app', member.process);
          } else {
            member.sidecar = launchSidecar(app, appToken);
            member.timings = { ...member.timings, sidecarStartedAt: Date.now(), sidecarReadyAt: undefined };
            supervise('sidecar', member.sidecar);
          }
          void checkHealth(member).then(() => log(`${name} ${what} restarted: ${member.status}`));
        });
      });
    };

    const member: StackMember = {
      app,
      process: launchApp(app, appToken),
      sidecar: launchSidecar(app, appToken),
      status: 'starting',
      timings: { appStartedAt: Date.now(), sidecarStartedAt: Date.now() },
      appApiToken: appToken.APP_API_TOKEN,
      restartApp: async () => {
        intended.add(member.process);
        await member.process.stop();
        member.process = launchApp(app, appToken);
        member.timings = { ...member.timings, appStartedAt: Date.now(), appReadyAt: undefined };
        supervise('app', member.process);
        member.status = 'restarting';
        await checkHealth(member);
        if (member.status === 'healthy' && registries.get(app.configFile)) await until(() => member.inRotation === true, 10_000);
      },
    };
    supervise('app', member.process);
    supervise('sidecar', member.sidecar);
    return member;
  });

  // Readiness-aware routing (rotation.ts): out while /readyz fails (draining, starting, dead), in when it answers 200.
  const watchReadiness = async (member: StackMember) => {
    const { app } = member;
    const port = app.daprInternalGrpcPort;
    const registry = registries.get(app.configFile);
    if (!registry || port === undefined || stopping) return;
    // Ready for callers: the app says so, and its own sidecar's health check agrees (until its next
    // probe, up to 3 s after the app is back, daprd refuses to invoke an app it saw down).
    const ready =
      member.sidecar.appHealthy() === true &&
      (await fetch(`http://127.0.0.1:${app.appPort}/readyz`, { signal: AbortSignal.timeout(READINESS_PERIOD_MS * 2) }).then(
        (r) => r.status === 200,
        () => false,
      ));
    // Out is re-asserted on every failed probe: a restarted sidecar registers itself as routable.
    if (!stopping && (!ready || member.inRotation !== true)) {
      try {
        const changed = await setInRotation(registry, app.appId, port, ready);
        if (changed || ready) {
          if (member.inRotation !== ready && member.inRotation !== undefined) {
            log(`${app.instanceName ?? app.appId} ${ready ? 'ready: routed to again' : 'not ready: taken out of rotation'}`);
          }
          member.inRotation = ready;
        }
      } catch (error) {
        log(`${app.instanceName ?? app.appId}: ${(error as Error).message}`);
      }
    }
    later(READINESS_PERIOD_MS, () => void watchReadiness(member));
  };

  await Promise.all(members.map(checkHealth));
  for (const member of members) void watchReadiness(member);
  // Started means routed to: the first readiness round may take a sidecar out until its own app
  // health check has seen the app (callers would meet 503s meanwhile).
  const routable = (m: StackMember) => !registries.get(m.app.configFile) || m.status !== 'healthy' || m.inRotation === true;
  await until(() => members.every(routable), 30_000);
  return {
    members,
    healthy: members.every((m) => m.status === 'healthy'),
    stop: async () => {
      stopping = true;
      for (const timer of timers) clearTimeout(timer);
      await Promise.all(members.map((m) => m.process.stop()));
      await Promise.all(members.map((m) => m.sidecar.stop()));
    },
  };
}

/** The apps that are services of this repository (services/<app-id>), whose command runs their build. */
export function servicesOf(apps: ResolvedApp[]): string[] {
  const built = apps.filter(
    (a) => a.appDir === path.join(repoRoot, 'services', a.appId) && a.command.some((arg) => arg.startsWith('dist/')),
  );
  return [...new Set(built.map((a) => a.appId))];
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
}

async function checkHealth(member: StackMember): Promise<void> {
  const { app } = member;
  try {
    await waitForHttp(`http://127.0.0.1:${app.appPort}${app.appHealthCheckPath}`, { timeoutMs: 90_000, abortIf: member.process.exited });
    member.timings.appReadyAt ??= Date.now();
    await waitForHttp(`http://127.0.0.1:${app.daprHttpPort}/v1.0/healthz`, { timeoutMs: 60_000, abortIf: member.sidecar.exited });
    member.timings.sidecarReadyAt ??= Date.now();
    const ready = await fetch(`http://127.0.0.1:${app.appPort}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    member.status = ready === 200 ? 'healthy' : `alive, /readyz ${ready}`;
  } catch (error) {
    member.status = `FAILED: ${(error as Error).message}`;
  }
}
