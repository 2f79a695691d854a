import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

/**
 * The Dapr CLI's multi-app run file (`dapr run -f`), the fields CareGrid uses,
 * spelled exactly as the CLI reads them. Unknown keys are rejected so a typo
 * cannot silently do nothing here while the CLI does something else.
 */
const port = z.number().int().min(1).max(65535);
const env = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));

const appFields = {
  appDirPath: z.string().min(1),
  appPort: port,
  appProtocol: z.enum(['http', 'grpc', 'https', 'grpcs', 'h2c']),
  appHealthCheckPath: z.string().startsWith('/'),
  enableAppHealthCheck: z.boolean(),
  appChannelAddress: z.string(),
  daprHTTPPort: port,
  daprGRPCPort: port,
  daprInternalGRPCPort: port,
  metricsPort: port,
  resourcesPaths: z.array(z.string().min(1)).min(1),
  configFilePath: z.string().min(1),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']),
  appLogDestination: z.enum(['file', 'console', 'fileAndConsole']),
  daprdLogDestination: z.enum(['file', 'console', 'fileAndConsole']),
  // Unset: the CLI points daprd at localhost:50005 / localhost:50006 (a `dapr init` default).
  // Blank disables; see hostAddress() for why the scheduler's is a space.
  placementHostAddress: z.string(),
  schedulerHostAddress: z.string(),
  command: z.array(z.string().min(1)).min(1),
  env,
};

export const runFileSchema = z.strictObject({
  version: z.literal(1),
  common: z.strictObject(appFields).partial().optional(),
  apps: z.array(
    z.strictObject({ appID: z.string().regex(/^[a-z][a-z0-9-]*$/), ...appFields }).partial({
      appProtocol: true,
      appHealthCheckPath: true,
      enableAppHealthCheck: true,
      appChannelAddress: true,
      daprHTTPPort: true,
      daprGRPCPort: true,
      daprInternalGRPCPort: true,
      metricsPort: true,
      resourcesPaths: true,
      configFilePath: true,
      logLevel: true,
      appLogDestination: true,
      daprdLogDestination: true,
      placementHostAddress: true,
      schedulerHostAddress: true,
      env: true,
    }),
  ),
});

export type RunFile = z.infer<typeof runFileSchema>;

/** One app with common settings merged in and paths made absolute. */
export type ResolvedApp = {
  appId: string;
  /** Names a second instance of the same app-id (replica) in logs; not a run-file field. */
  instanceName?: string;
  /** The app's folder: the working directory of the app and of its daprd (as the CLI starts them). */
  appDir: string;
  appPort: number;
  appProtocol: string;
  appHealthCheckPath: string;
  daprHttpPort: number;
  daprGrpcPort: number;
  daprInternalGrpcPort?: number;
  metricsPort: number;
  resourcesPaths: string[];
  configFile: string;
  logLevel: string;
  /** host:port, or undefined when the run file disables it (the launcher never starts either). */
  placementHostAddress?: string;
  schedulerHostAddress?: string;
  command: string[];
  env: Record<string, string>;
};

export class RunFileError extends Error {}

export function parseRunFile(text: string, file: string): RunFile {
  const result = runFileSchema.safeParse(parse(text));
  if (!result.success) {
    const issues = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n');
    throw new RunFileError(`${file} is not a valid Dapr run file:\n${issues}`);
  }
  return result.data;
}

/**
 * The CLI's rule (pkg/runfileconfig, 1.18): unset → the `dapr init` default on localhost; blank →
 * disabled; a host without a port gets the default port. (For the scheduler the CLI turns a
 * literally empty value back into `localhost` when the runtime is 1.15+, and trims only later:
 * a single space is what disables it there.)
 */
function hostAddress(value: string | undefined, defaultPort: number, emptyIsUnset = false): string | undefined {
  if (value === undefined || (emptyIsUnset && value === '')) return `localhost:${defaultPort}`;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  return trimmed.includes(':') ? trimmed : `${trimmed}:${defaultPort}`;
}

/**
 * Reads a run file the way `dapr run -f` does (its pkg/runfileconfig): `common` paths are
 * relative to the run file's folder, `appDirPath` too, but an app's own `configFilePath` and
 * `resourcesPaths` are relative to that app's `appDirPath`. Precedence: the app's own value,
 * then `<appDirPath>/.dapr/config.yaml` or `<appDirPath>/.dapr/resources` if present, then
 * `common`. Env: the app's keys win over common's. The app's folder and Configuration must
 * exist (the CLI refuses the file otherwise); resource folders may not yet: the launcher renders
 * `.caregrid/generated` after reading this file.
 */
export function loadRunFile(file: string): ResolvedApp[] {
  const runFile = parseRunFile(readFileSync(file, 'utf8'), file);
  const baseDir = path.dirname(path.resolve(file));
  const common = runFile.common ?? {};
  const existing = (what: string, p: string): string => {
    if (!existsSync(p)) throw new RunFileError(`${file}: ${what} ${p} does not exist`);
    return p;
  };
  const commonConfig = common.configFilePath && existing('configFilePath', path.resolve(baseDir, common.configFilePath));
  const commonResources = common.resourcesPaths?.map((p) => path.resolve(baseDir, p));
  const apps = runFile.apps.map((app): ResolvedApp => {
    const merged = { ...common, ...app, env: { ...common.env, ...app.env } };
    const appDir = existing('appDirPath', path.resolve(baseDir, app.appDirPath));
    const localConfig = path.join(appDir, '.dapr', 'config.yaml');
    const localResources = path.join(appDir, '.dapr', 'resources');
    const configFile = app.configFilePath
      ? existing('configFilePath', path.resolve(appDir, app.configFilePath))
      : existsSync(localConfig)
        ? localConfig
        : commonConfig;
    const resourcesPaths = app.resourcesPaths
      ? app.resourcesPaths.map((p) => path.resolve(appDir, p))
      : existsSync(localResources)
        ? [localResources]
        : commonResources;
    const missing = Object.entries({
      daprHTTPPort: merged.daprHTTPPort,
      daprGRPCPort: merged.daprGRPCPort,
      metricsPort: merged.metricsPort,
      resourcesPaths,
      configFilePath: configFile,
    })
      .filter(([, value]) => value === undefined)
      .map(([key]) => key);
    if (missing.length > 0) throw new RunFileError(`${file}: app ${app.appID} sets no ${missing.join(', ')}`);
    return {
      appId: app.appID,
      appDir,
      appPort: merged.appPort,
      appProtocol: merged.appProtocol ?? 'http',
      appHealthCheckPath: merged.appHealthCheckPath ?? '/healthz',
      daprHttpPort: merged.daprHTTPPort!,
      daprGrpcPort: merged.daprGRPCPort!,
      daprInternalGrpcPort: merged.daprInternalGRPCPort,
      metricsPort: merged.metricsPort!,
      resourcesPaths: resourcesPaths!,
      configFile: configFile!,
      logLevel: merged.logLevel ?? 'info',
      placementHostAddress: hostAddress(merged.placementHostAddress, 50005),
      schedulerHostAddress: hostAddress(merged.schedulerHostAddress, 50006, true),
      command: merged.command,
      env: merged.env,
    };
  });
  const seen = new Map<number, string>();
  for (const app of apps) {
    for (const p of [app.appPort, app.daprHttpPort, app.daprGrpcPort, app.daprInternalGrpcPort, app.metricsPort]) {
      if (p === undefined) continue;
      const owner = seen.get(p);
      if (owner) throw new RunFileError(`${file}: port ${p} is used by both ${owner} and ${app.appId}`);
      seen.set(p, app.appId);
    }
  }
  return apps;
}
