/**
 * Production databases over TLS with full verification: every `databaseUrl` of the prod overlay
 * asks for it (PostgreSQL verify-full, MySQL VERIFY_IDENTITY, MongoDB tls) against a CA file that
 * the pod really has — the `database-ca` Secret mounted into the app container at that path —
 * and the platform's URL mapping turns it into a verifying driver configuration.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultRunFile, loadRunFile } from '@caregrid/devkit';
import { mysqlConnectionConfig } from '@caregrid/platform/mysql';
import { pgConnectionConfig } from '@caregrid/platform/postgres';
import { copyDeployment, decode, type KubeObject, renderOverlay, testCa } from './k8s-render.js';

type Container = { name: string; volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[] };
type Volume = { name: string; secret?: { secretName: string; items?: { key: string; path: string }[] } };
type Deployment = KubeObject & { spec: { template: { spec: { containers: Container[]; volumes?: Volume[] } } } };

const databaseApps = loadRunFile(defaultRunFile).filter((a) => a.env.CAREGRID_DATABASE);
const { dir: work, dispose } = copyDeployment([], { databaseCa: false });
afterAll(dispose);

const CA = testCa();
const caFile = path.join(work, 'k8s', 'overlays', 'prod', 'database-ca', 'ca.crt');

describe('prod: database TLS verified against the CA from the database-ca Secret', () => {
  let objects: KubeObject[] = [];
  const secret = (name: string) => objects.find((o) => o.kind === 'Secret' && o.metadata.name === name);

  it('the overlay does not render without the provider CA file', async () => {
    await expect(renderOverlay(work, 'prod')).rejects.toThrow(/database-ca\/ca\.crt/);
  });

  it('with it, the CA is the Secret database-ca', async () => {
    mkdirSync(path.dirname(caFile), { recursive: true });
    writeFileSync(caFile, CA);
    objects = await renderOverlay(work, 'prod');
    expect(decode(secret('database-ca')!.data!['ca.crt']!)).toBe(CA);
  });

  it.each(databaseApps.map((a) => [a.appId, a.env.CAREGRID_DATABASE!]))(
    '%s (%s): its URL asks for full verification against a CA file its app container has',
    (appId, kind) => {
      const url = new URL(decode(secret(appId)!.data!.databaseUrl!));
      const params = Object.fromEntries(url.searchParams);
      const caPath = { postgres: params.sslrootcert, mysql: params['ssl-ca'], mongodb: params.tlsCAFile }[kind];
      expect(caPath).toMatch(/^\//);

      // The path lies in a read-only mount of the database-ca Secret's ca.crt.
      const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === appId) as Deployment;
      const app = deployment.spec.template.spec.containers.find((c) => c.name === 'app')!;
      const mount = (app.volumeMounts ?? []).find((m) => caPath!.startsWith(`${m.mountPath}/`));
      expect(mount).toMatchObject({ readOnly: true });
      const volume = deployment.spec.template.spec.volumes?.find((v) => v.name === mount!.name);
      const item = volume?.secret?.items?.find((i) => i.path === path.relative(mount!.mountPath, caPath!));
      expect([volume?.secret?.secretName, item?.key]).toEqual(['database-ca', 'ca.crt']);

      // What the service makes of its URL, reading the CA where the pod has it.
      const readInPod = (file: string) => {
        expect(file).toBe(caPath);
        return decode(secret('database-ca')!.data!['ca.crt']!);
      };
      if (kind === 'postgres') {
        expect(params.sslmode).toBe('verify-full');
        expect(pgConnectionConfig(url.toString(), readInPod).ssl).toEqual({ ca: CA, rejectUnauthorized: true });
      } else if (kind === 'mysql') {
        expect(params['ssl-mode']).toBe('VERIFY_IDENTITY');
        expect(mysqlConnectionConfig(url.toString(), readInPod).ssl).toEqual({ ca: CA, rejectUnauthorized: true, verifyIdentity: true });
      } else {
        // The MongoDB driver reads tlsCAFile itself and checks the host name unless told not to.
        expect(params.tls).toBe('true');
        expect(Object.keys(params).filter((p) => /^tlsAllowInvalid|^tlsInsecure/.test(p))).toEqual([]);
      }
    },
  );

  it("analytics-service's audit trail logins ask for the same verified TLS as its databaseUrl", () => {
    const tlsOf = (key: string) => {
      const params = new URL(decode(secret('analytics-service')!.data![key]!)).searchParams;
      return {
        tls: params.get('tls'),
        tlsCAFile: params.get('tlsCAFile'),
        relaxed: [...params.keys()].filter((p) => /^tlsAllowInvalid|^tlsInsecure/.test(p)),
      };
    };
    expect(tlsOf('databaseUrl')).toEqual({ tls: 'true', tlsCAFile: expect.stringMatching(/^\//), relaxed: [] });
    expect(tlsOf('auditWriterUrl')).toEqual(tlsOf('databaseUrl'));
    expect(tlsOf('auditRetentionUrl')).toEqual(tlsOf('databaseUrl'));
  });

  it('the services without a database get no CA mount', () => {
    for (const d of objects.filter((o) => o.kind === 'Deployment') as Deployment[]) {
      const mounts = d.spec.template.spec.volumes?.some((v) => v.secret?.secretName === 'database-ca') ?? false;
      expect([d.metadata.name, mounts]).toEqual([d.metadata.name, databaseApps.some((a) => a.appId === d.metadata.name)]);
    }
  });
});
