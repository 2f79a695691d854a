import type { ResolvedApp } from './runfile.js';

/**
 * How to run auth-service's `recover-admin` command beside its running sidecar: the app's own
 * command with the environment the launcher gives the app, so the command reads the database
 * URL from the app's secret exactly as the service does.
 */
export function recoverAdminInvocation(
  app: ResolvedApp,
  args: string[],
): { command: string; args: string[]; cwd: string; env: NodeJS.ProcessEnv } {
  return {
    command: app.command[0]!,
    args: [...app.command.slice(1), 'recover-admin', ...args],
    cwd: app.appDir,
    env: {
      ...process.env,
      ...app.env,
      APP_ID: app.appId,
      APP_PORT: String(app.appPort),
      DAPR_HTTP_PORT: String(app.daprHttpPort),
    },
  };
}
