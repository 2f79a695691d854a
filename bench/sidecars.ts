/**
 * Sidecars for floor measurements, shared by bench/jwt-policy.ts and bench/floors.ts:
 * real daprd processes (mTLS from the local Sentry) with the gateway's real Configuration
 * and, where asked, the gateway's real OPA policy rendered with a signing key of the bench's own.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { parse, stringify } from 'yaml';
import { freeSidecarPorts, publicJwks, repoRoot, startSidecar, type RunningSidecar } from '@caregrid/devkit';

export type SidecarLab = {
  dir: string;
  /** dapr/config/gateway.yaml with this lab's name-resolution registry; without the JWT pipeline unless asked. */
  config: (name: string, withPipeline: boolean) => string;
  /**
   * dapr/config/caregrid.yaml, the services' real Configuration (its access control list too), for the
   * callee: each of `callers` may call what the gateway may (the list names the real app-ids only).
   */
  calleeConfig: (name: string, callers: string[]) => string;
  /** A resources directory holding only `policy` (a rendered component), or nothing. */
  resources: (name: string, policy?: string) => string;
  /** Starts a daprd for `appId` in front of `appPort` and waits until it can invoke. */
  sidecar: (appId: string, configFile: string, resourcesDir: string, appPort: number) => Promise<RunningSidecar>;
  stop: () => Promise<void>;
};

export function sidecarLab(label: string): SidecarLab {
  const dir = mkdtempSync(path.join(tmpdir(), `bench-${label}-`));
  const started: RunningSidecar[] = [];
  const configuration = (source: string, name: string, change: (spec: Record<string, unknown>) => void) => {
    const base = parse(readFileSync(path.join(repoRoot, 'dapr/config', source), 'utf8')) as { spec: Record<string, unknown> };
    (base.spec.nameResolution as { configuration: Record<string, string> }).configuration.connectionString = path.join(dir, 'nr.db');
    change(base.spec);
    const file = path.join(dir, `${name}.yaml`);
    writeFileSync(file, stringify(base));
    return file;
  };
  return {
    dir,
    config: (name, withPipeline) =>
      configuration('gateway.yaml', name, (spec) => {
        if (!withPipeline) delete spec.httpPipeline;
      }),
    calleeConfig: (name, callers) =>
      configuration('caregrid.yaml', name, (spec) => {
        const acl = spec.accessControl as { policies: { appId: string }[] };
        const gateway = acl.policies.find((p) => p.appId === 'gateway')!;
        acl.policies.push(...callers.filter((id) => id !== 'gateway').map((appId) => ({ ...gateway, appId })));
      }),
    resources: (name, policy) => {
      const resourcesDir = path.join(dir, name);
      mkdirSync(resourcesDir);
      if (policy) writeFileSync(path.join(resourcesDir, 'jwt-auth.yaml'), policy);
      return resourcesDir;
    },
    sidecar: async (appId, configFile, resourcesDir, appPort) => {
      const sidecar = startSidecar({
        appId,
        appPort,
        ...(await freeSidecarPorts()),
        resourcesPaths: [resourcesDir],
        configFile,
        logLevel: 'warn',
        logFile: path.join(dir, `${appId}.log`),
      });
      started.push(sidecar);
      await sidecar.waitReady();
      return sidecar;
    },
    stop: async () => {
      await Promise.all(started.map((s) => s.stop()));
    },
  };
}

/** An ES256 key of the bench's own: its public JWKS (to inline in the policy) and tokens signed with it. */
export async function benchSigningKey(): Promise<{ jwks: { keys: JWK[] }; token: (roles: string[]) => Promise<string> }> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'bench' };
  return {
    jwks: publicJwks([jwk]),
    token: (roles) =>
      new SignJWT({ roles })
        .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
        .setIssuer('caregrid-auth')
        .setAudience('caregrid')
        .setSubject('bench-user')
        .setExpirationTime('1h')
        .sign(privateKey),
  };
}

/** Invocation through a sidecar of an app registered as doctor-service (a route every role may GET). */
export const invokeDoctorsPath = '/v1.0/invoke/doctor-service/method/doctors';
