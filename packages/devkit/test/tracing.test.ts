/**
 * Where the local run's spans go: one variable, OTEL_EXPORTER_ZIPKIN_ENDPOINT, read by the apps
 * and (expanded by daprd in its self-hosted Configuration) by their sidecars, pointing at
 * infra/infra.sh's Zipkin. The launcher, the test stacks and single test sidecars must all keep it.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { defaultRunFile, localZipkin, readInfraEnv, repoRoot, sidecarEnvironment } from '../src/paths.js';
import { loadRunFile } from '../src/runfile.js';
import { renderConfigurations } from '../src/test-stack.js';
import { freshAppIdConfigFile } from '../src/testing.js';

type Tracing = { samplingRate?: string; stdout?: boolean; zipkin?: { endpointAddress?: string } };
const tracingOf = (file: string) => (parse(readFileSync(file, 'utf8')) as { spec: { tracing?: Tracing } }).spec.tracing;
const EXPORT_TO_VARIABLE: Tracing = { samplingRate: '1', stdout: false, zipkin: { endpointAddress: '${OTEL_EXPORTER_ZIPKIN_ENDPOINT}' } };

describe('local tracing', () => {
  it("is infra/infra.sh's Zipkin, on the port of infra/infra.env", () => {
    const port = readInfraEnv().CAREGRID_ZIPKIN_PORT;
    expect(port).toMatch(/^\d+$/);
    expect(localZipkin()).toEqual({ url: `http://127.0.0.1:${port}`, spansEndpoint: `http://127.0.0.1:${port}/api/v2/spans` });
  });

  it('every app of dapr/dapr.yaml gets the endpoint (the launcher and test stacks hand it to its sidecar too)', () => {
    const apps = loadRunFile(defaultRunFile);
    expect(apps.length).toBeGreaterThan(0);
    for (const app of apps) {
      expect([app.appId, app.env.OTEL_EXPORTER_ZIPKIN_ENDPOINT]).toEqual([app.appId, localZipkin().spansEndpoint]);
    }
  });

  it('every sidecar started outside a run file gets it as well', () => {
    expect(sidecarEnvironment().OTEL_EXPORTER_ZIPKIN_ENDPOINT).toBe(localZipkin().spansEndpoint);
  });

  it("the Configurations sample everything and export to the variable's address", () => {
    for (const name of ['caregrid', 'gateway']) {
      expect([name, tracingOf(path.join(repoRoot, 'dapr', 'config', `${name}.yaml`))]).toEqual([name, EXPORT_TO_VARIABLE]);
    }
  });

  it("the test stacks' and test sidecars' copies of the Configurations keep tracing as it is", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tracing-config-'));
    renderConfigurations(dir, path.join(dir, 'nameresolution.db'));
    for (const name of ['caregrid', 'gateway']) {
      expect([name, tracingOf(path.join(dir, `${name}.yaml`))]).toEqual([name, EXPORT_TO_VARIABLE]);
    }
    expect(tracingOf(freshAppIdConfigFile())).toEqual(EXPORT_TO_VARIABLE);
  });
});
