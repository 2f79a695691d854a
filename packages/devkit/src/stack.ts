import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ensureBuilt } from '../../../scripts/build.js';
import { startSidecar, type RunningSidecar } from './daprd.js';
import { repoRoot } from './paths.js';
import { startProcess, type ManagedProcess } from './processes.js';
import { checkHealth, until, watchReadiness } from './readiness.js';
import { registryOf, type Registry } from './rotation.js';
import type { ResolvedApp } from './runfile.js';
import { createLifecycle, superviseMember, type Part, type StackMember } from './supervisor.js';

/**
 * Apps whose port is the public entry: clients call them directly, not through
 * their sidecar, so they get no app API token. Every other app gets one.
 */
export const PUBLIC_APPS: ReadonlySet<string> = new Set(['gateway']);

/** A fresh token per app instance, given to it and to its sidecar (which sends it as dapr-api-token). */
export const appApiTokenFor = (appId: string): Record<string, string> =>
  PUBLIC_APPS.has(appId) ? {} : { APP_API_TOKEN: randomBytes(24).toString('base64url') };

/** The apps' drain after SIGTERM (SHUTDOWN_DRAIN_MS, unless the run file sets it): see READINESS_PERIOD_MS. */
export const LOCAL_DRAIN_MS = 2_000;

export type Stack = { members: StackMember[]; healthy: boolean; stop: () => Promise<void> };

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
  const log = options.log ?? (() => undefined);
  const lifecycle = createLifecycle();

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
  /** Started means routed to, where the registry routes by readiness. */
  const routable = (m: StackMember) => !registries.get(m.app.configFile) || m.status !== 'healthy' || m.inRotation === true;
  const members = options.apps.map((app): StackMember => {
    // One token per instance, shared by the app and its sidecar (and kept across restarts).
    const appToken = appApiTokenFor(app.appId);
    return superviseMember({
      app,
      appApiToken: appToken.APP_API_TOKEN,
      launchApp: () => launchApp(app, appToken),
      launchSidecar: () => launchSidecar(app, appToken),
      lifecycle,
      checkHealth: async (member, { routed } = {}) => {
        await checkHealth(member);
        if (routed) await until(() => routable(member), 10_000);
      },
      onUnexpectedExit: options.onUnexpectedExit,
      log,
    });
  });

  await Promise.all(members.map(checkHealth));
  for (const member of members) watchReadiness(member, registries.get(member.app.configFile), lifecycle, log);
  // The first readiness round may take a sidecar out until its own app health check has seen the
  // app (callers would meet 503s meanwhile).
  await until(() => members.every(routable), 30_000);
  return {
    members,
    healthy: members.every((m) => m.status === 'healthy'),
    stop: async () => {
      lifecycle.stop();
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
