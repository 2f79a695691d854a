import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { startSidecar, type RunningSidecar } from './daprd.js';
import { startProcess, waitForHttp, type ManagedProcess } from './processes.js';
import type { ResolvedApp } from './runfile.js';

/**
 * Apps whose port is the public entry: clients call them directly, not through
 * their sidecar, so they get no app API token. Every other app gets one.
 */
export const PUBLIC_APPS: ReadonlySet<string> = new Set(['gateway']);

/** A fresh token per app instance, given to it and to its sidecar (which sends it as dapr-api-token). */
export const appApiTokenFor = (appId: string): Record<string, string> =>
  PUBLIC_APPS.has(appId) ? {} : { APP_API_TOKEN: randomBytes(24).toString('base64url') };

export type StackMember = {
  app: ResolvedApp;
  process: ManagedProcess;
  sidecar: RunningSidecar;
  status: string;
  /** The token this instance's sidecar presents to its app (dapr-api-token); undefined for a public app. Lets a test deliver as the sidecar would. */
  appApiToken: string | undefined;
  /** Stops the app (not its sidecar) and starts it again as before; resolves when it is healthy again (or says why not in `status`). */
  restartApp: () => Promise<void>;
};

export type Stack = { members: StackMember[]; healthy: boolean; stop: () => Promise<void> };

/**
 * Starts each app of a (resolved) run file with its daprd, the way the Dapr
 * CLI would, and waits until app and sidecar are healthy. Used by
 * `npm run dev` and by end-to-end tests (which pass their own ports,
 * resources and secrets file).
 */
export async function startStack(options: {
  apps: ResolvedApp[];
  logDir: string;
  echo?: boolean;
  /** Environment every sidecar gets on top of the defaults (e.g. another secrets file). */
  sidecarEnv?: Record<string, string>;
  onUnexpectedExit?: (member: StackMember, what: 'app' | 'sidecar', code: number | string) => void;
}): Promise<Stack> {
  let stopping = false;
  const launchApp = (app: ResolvedApp, appToken: Record<string, string>): ManagedProcess =>
    startProcess({
      name: app.instanceName ?? app.appId,
      command: app.command[0]!,
      args: app.command.slice(1),
      cwd: app.appDir,
      // What the Dapr CLI exports to an app, plus the run file's env.
      env: {
        ...globalThis.process.env,
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
  const members = options.apps.map((app): StackMember => {
    const name = app.instanceName ?? app.appId;
    // One token per instance, shared by the app and its sidecar (and kept across restarts).
    const appToken = appApiTokenFor(app.appId);
    const sidecar = startSidecar({
      ...app,
      env: { ...app.env, ...options.sidecarEnv, ...appToken },
      logFile: path.join(options.logDir, `${name}-daprd.log`),
    });
    const member: StackMember = {
      app,
      process: launchApp(app, appToken),
      sidecar,
      status: 'starting',
      appApiToken: appToken.APP_API_TOKEN,
      restartApp: async () => {
        await member.process.stop();
        member.process = launchApp(app, appToken);
        member.status = 'restarting';
        await checkHealth(member);
      },
    };
    return member;
  });
  for (const member of members) {
    void member.process.exited.then((code) => stopping || options.onUnexpectedExit?.(member, 'app', code));
    void member.sidecar.exited.then((code) => stopping || options.onUnexpectedExit?.(member, 'sidecar', code));
  }
  await Promise.all(members.map(checkHealth));
  return {
    members,
    healthy: members.every((m) => m.status === 'healthy'),
    stop: async () => {
      stopping = true;
      await Promise.all(members.map((m) => m.process.stop()));
      await Promise.all(members.map((m) => m.sidecar.stop()));
    },
  };
}

async function checkHealth(member: StackMember): Promise<void> {
  const { app } = member;
  try {
    await waitForHttp(`http://127.0.0.1:${app.appPort}${app.appHealthCheckPath}`, { timeoutMs: 90_000, abortIf: member.process.exited });
    await waitForHttp(`http://127.0.0.1:${app.daprHttpPort}/v1.0/healthz`, { timeoutMs: 60_000, abortIf: member.sidecar.exited });
    const ready = await fetch(`http://127.0.0.1:${app.appPort}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    member.status = ready === 200 ? 'healthy' : `alive, /readyz ${ready}`;
  } catch (error) {
    member.status = `FAILED: ${(error as Error).message}`;
  }
}
