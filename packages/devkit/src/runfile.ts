import { readFileSync } from 'node:fs';
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

export function loadRunFile(file: string): ResolvedApp[] {
  const runFile = parseRunFile(readFileSync(file, 'utf8'), file);
  // The CLI resolves every path relative to the run file's own directory.
  const baseDir = path.dirname(path.resolve(file));
  const common = runFile.common ?? {};
  const apps = runFile.apps.map((app): ResolvedApp => {
    const merged = { ...common, ...app, env: { ...common.env, ...app.env } };
    const missing = (['daprHTTPPort', 'daprGRPCPort', 'metricsPort', 'resourcesPaths', 'configFilePath'] as const).filter(
      (key) => merged[key] === undefined,
    );
    if (missing.length > 0) throw new RunFileError(`${file}: app ${app.appID} sets no ${missing.join(', ')}`);
    return {
      appId: app.appID,
      appDir: path.resolve(baseDir, merged.appDirPath),
      appPort: merged.appPort,
      appProtocol: merged.appProtocol ?? 'http',
      appHealthCheckPath: merged.appHealthCheckPath ?? '/healthz',
      daprHttpPort: merged.daprHTTPPort!,
      daprGrpcPort: merged.daprGRPCPort!,
      daprInternalGrpcPort: merged.daprInternalGRPCPort,
      metricsPort: merged.metricsPort!,
      resourcesPaths: merged.resourcesPaths!.map((p) => path.resolve(baseDir, p)),
      configFile: path.resolve(baseDir, merged.configFilePath!),
      logLevel: merged.logLevel ?? 'info',
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
