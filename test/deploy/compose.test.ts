/**
 * docker-compose.yml, checked offline with the loader Docker Compose v2 itself uses
 * (compose-spec/compose-go, built by `infra/infra.sh tools` as .caregrid/bin/compose-check):
 * schema, interpolation, required variables, depends_on/network_mode consistency. The env file
 * is made the way a reader makes it (`npm run deploy:secrets -- compose`, in a temporary root),
 * and the resolved project must match the local run: the apps, app-ids, ports, Configurations
 * and resource folders of dapr/dapr.yaml, mounted from the repository's own folders.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { loadRunFile, readInfraEnv, renderDeploySecrets, repoRoot } from '@caregrid/devkit';
import { analyticsLogins, loginOf, MONGO_INIT_FILE, runMongoInit } from './mongo-init.js';

type Mount = { type: 'bind' | 'volume'; source: string; target: string; read_only?: boolean };
type Service = {
  image?: string;
  restart?: string;
  init?: boolean;
  build?: { context: string; dockerfile: string; target?: string; args?: Record<string, string> };
  command?: string[] | null;
  environment?: Record<string, string | null>;
  network_mode?: string;
  working_dir?: string;
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  ports?: { target: number; published?: string; host_ip?: string }[];
  volumes?: Mount[];
  configs?: { source: string; target: string }[];
  secrets?: { source: string; target: string }[];
  healthcheck?: { test: string[] };
};
type Project = {
  name: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  configs?: Record<string, { content?: string; file?: string }>;
  secrets?: Record<string, { environment?: string; file?: string }>;
};
type Component = { metadata: { name: string }; spec: { metadata?: { name: string; envRef?: string }[] }; scopes?: string[] };

const composeCheck = path.join(repoRoot, '.caregrid', 'bin', 'compose-check');
const composeFile = path.join(repoRoot, 'docker-compose.yml');
const apps = loadRunFile(path.join(repoRoot, 'dapr', 'dapr.yaml'));
const DATABASE_SERVICES: Record<string, string> = { postgres: 'postgres', mysql: 'mysql', mongodb: 'mongo' };
const SIDECAR_HTTP_PORT = '3500';
/** The registry path of a CareGrid image (k8s/image-registry/images.yaml, what the image workflow pushes). */
const imageName = (name: string) =>
  execFileSync('bash', [path.join(repoRoot, 'k8s', 'image-registry', 'image-name.sh'), name], { encoding: 'utf8' }).trim();

/** Runs the loader; a failure comes back as its message rather than an exception. */
function load(file: string, envFile: string): { project?: Project; error?: string } {
  try {
    // --no-os-env: only the env file counts, whatever this machine exports.
    const out = execFileSync(composeCheck, ['--no-os-env', '--project-directory', repoRoot, '--env-file', envFile, file], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { project: JSON.parse(out) as Project };
  } catch (error) {
    const { stderr, status } = error as { stderr?: string; status?: number };
    return { error: `exit ${status}: ${stderr ?? String(error)}` };
  }
}

/** `--name=value` (or `--name value`) values of a daprd command line. */
function flagValues(command: string[], name: string): string[] {
  const values: string[] = [];
  command.forEach((arg, i) => {
    if (arg.startsWith(`--${name}=`)) values.push(arg.slice(name.length + 3));
    else if (arg === `--${name}` && command[i + 1] && !command[i + 1]!.startsWith('--')) values.push(command[i + 1]!);
  });
  return values;
}

/** The mount a path inside the container lives on (the deepest one), and the path relative to it. */
function mountOf(service: Service, containerPath: string): { mount: Mount; rest: string } | undefined {
  const candidates = (service.volumes ?? []).filter((m) => containerPath === m.target || containerPath.startsWith(`${m.target}/`));
  const mount = candidates.sort((a, b) => b.target.length - a.target.length)[0];
  return mount ? { mount, rest: path.posix.relative(mount.target, containerPath) } : undefined;
}

/** Where a path in a sidecar comes from on the host: a repository path, or `volume:<name>/<rest>`. */
function hostPathOf(service: Service, containerPath: string): string | undefined {
  const found = mountOf(service, containerPath);
  if (!found) return undefined;
  return found.mount.type === 'bind'
    ? path.join(found.mount.source, found.rest)
    : `volume:${path.posix.join(found.mount.source, found.rest)}`;
}

function components(dir: string): Component[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseAllDocuments(readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS() as Component))
    .filter((c) => c?.spec);
}

const root = mkdtempSync(path.join(tmpdir(), 'caregrid-compose-'));
const envFile = path.join(root, '.env');
const generatedDir = path.join(root, '.caregrid', 'compose');
let project: Project;
let env: Record<string, string>;

beforeAll(async () => {
  copyFileSync(path.join(repoRoot, '.env.example'), path.join(root, '.env.example'));
  await renderDeploySecrets('compose', { root });
  env = Object.fromEntries(
    readFileSync(envFile, 'utf8')
      .split('\n')
      .filter((line) => /^[A-Z][A-Z0-9_]*=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  const result = load(composeFile, envFile);
  if (!result.project) throw new Error(`docker-compose.yml does not load: ${result.error}`);
  project = result.project;
}, 120_000);

describe('docker-compose.yml', () => {
  it('loads with the env file deploy:secrets writes, leaving no ${...} unresolved', () => {
    expect(project.name).toBe('caregrid');
    expect(JSON.stringify(project)).not.toContain('${');
    // Every variable the file requires is one .env.example provides, and every secret there is used.
    const compose = readFileSync(composeFile, 'utf8');
    const required = new Set([
      ...[...compose.matchAll(/\$\{([A-Z][A-Z0-9_]*):\?/g)].map((m) => m[1]!),
      // Secrets whose value is a variable's.
      ...Object.values(project.secrets ?? {}).flatMap((secret) => (secret.environment ? [secret.environment] : [])),
    ]);
    const example = readFileSync(path.join(repoRoot, '.env.example'), 'utf8');
    const placeholders = new Set([...example.matchAll(/\$\{([A-Z][A-Z0-9_]*)\}/g)].map((m) => m[1]!));
    expect([...required].filter((name) => !env[name])).toEqual([]);
    expect([...placeholders].filter((name) => !required.has(name))).toEqual([]);
  });

  it.each(apps.map((app) => [app.appId, app] as const))('%s: app and sidecar as in dapr.yaml', (appId, app) => {
    const service = project.services[appId];
    const sidecar = project.services[`${appId}-dapr`];
    expect(service).toBeDefined();
    expect(sidecar).toBeDefined();

    // The app: built from the one Dockerfile for this folder, told its id and ports.
    expect(service!.build?.args?.SERVICE).toBe(appId);
    expect(service!.build?.context).toBe(repoRoot);
    expect(existsSync(path.join(repoRoot, 'services', appId, 'src', 'main.ts'))).toBe(true);
    expect(service!.image).toBe(`${imageName(appId)}:latest`);
    expect(service!.environment).toMatchObject({ APP_ID: appId, APP_PORT: String(app.appPort), DAPR_HTTP_PORT: SIDECAR_HTTP_PORT });

    // The sidecar: same app-id and port, in the app's network namespace (owned by a third service, below).
    const command = sidecar!.command ?? [];
    // CareGrid's daprd (patched, built by infra/daprd/build.sh: the Dockerfile's daprd target),
    // under the apps' registry path and tag; the image's entrypoint is daprd, the command its flags.
    expect(sidecar!.image).toBe(`${imageName('daprd')}:latest`);
    expect(sidecar!.build).toMatchObject({ context: repoRoot, target: 'daprd' });
    expect(command.filter((arg) => !arg.startsWith('--'))).toEqual([]);
    expect(sidecar!.network_mode).toBe(service!.network_mode);
    expect(flagValues(command, 'app-id')).toEqual([appId]);
    expect(flagValues(command, 'app-port')).toEqual([String(app.appPort)]);
    expect(flagValues(command, 'app-protocol')).toEqual([app.appProtocol]);
    expect(flagValues(command, 'app-health-check-path')).toEqual([app.appHealthCheckPath]);
    expect(flagValues(command, 'dapr-http-port')).toEqual([SIDECAR_HTTP_PORT]);
    expect(flagValues(command, 'app-channel-address')).toEqual(['127.0.0.1']);
    // The sidecar's own API only for its app; the internal gRPC port (other sidecars) stays open.
    expect(flagValues(command, 'dapr-listen-addresses')).toEqual(['127.0.0.1']);

    // The same Configuration and resource folders as the local run, from the repository itself.
    const [config] = flagValues(command, 'config');
    expect(hostPathOf(sidecar!, config!)).toBe(app.configFile);
    const resources = flagValues(command, 'resources-path').map((p) => hostPathOf(sidecar!, p));
    const generated = path.join(repoRoot, '.caregrid', 'generated');
    expect(resources.map((r) => (r?.startsWith('volume:') ? generated : r)).sort()).toEqual([...app.resourcesPaths].sort());
    for (const [folder, target] of [
      ['components', '/caregrid/components'],
      ['dapr', '/caregrid/dapr'],
    ] as const) {
      expect(sidecar!.volumes).toContainEqual(
        expect.objectContaining({ type: 'bind', source: path.join(repoRoot, folder), target, read_only: true }),
      );
    }

    // Started after Kafka is healthy (daprd exits when a component cannot start) and after dapr-init.
    expect(sidecar!.depends_on?.kafka?.condition).toBe('service_healthy');
    expect(sidecar!.depends_on?.['dapr-init']?.condition).toBe('service_completed_successfully');
    // The app after its database.
    const database = app.env.CAREGRID_DATABASE;
    if (database) expect(service!.depends_on?.[DATABASE_SERVICES[database]!]?.condition).toBe('service_healthy');

    // APP_API_TOKEN: the same for app and sidecar, one per service; none for the public gateway.
    const token = service!.environment?.APP_API_TOKEN;
    if (appId === 'gateway') {
      expect(token).toBeUndefined();
      expect(service!.environment?.APP_BIND_ADDRESS).toBe('0.0.0.0');
    } else {
      expect(token?.length).toBeGreaterThanOrEqual(16);
      expect(sidecar!.environment?.APP_API_TOKEN).toBe(token);
    }
  });

  it('gives every service its own APP_API_TOKEN', () => {
    const tokens = apps.map((app) => project.services[app.appId]!.environment?.APP_API_TOKEN).filter(Boolean);
    expect(tokens.length).toBe(apps.length - 1);
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it('publishes only the gateway, on its dapr.yaml port, on loopback unless CAREGRID_GATEWAY_HOST_IP says otherwise; Zipkin and Mailpit on loopback', () => {
    const published = (p: Project) =>
      Object.fromEntries(
        Object.entries(p.services)
          .filter(([, s]) => (s.ports ?? []).length > 0)
          .map(([name, s]) => [name, s.ports]),
      );
    const gateway = apps.find((a) => a.appId === 'gateway')!;
    // The gateway's port belongs to the owner of its network namespace.
    const gatewayOwner = /^service:(.+)$/.exec(project.services.gateway!.network_mode ?? '')![1]!;
    const port = { target: gateway.appPort, published: String(gateway.appPort) };
    // Zipkin's UI: this machine only, whatever the gateway's setting.
    const zipkin = [expect.objectContaining({ target: 9411, published: '9411', host_ip: '127.0.0.1' })];
    const mailpit = [expect.objectContaining({ target: 8025, published: '8025', host_ip: '127.0.0.1' })];
    expect(published(project)).toEqual({ [gatewayOwner]: [expect.objectContaining({ ...port, host_ip: '127.0.0.1' })], zipkin, mailpit });

    const open = path.join(root, 'open.env');
    writeFileSync(open, `${readFileSync(envFile, 'utf8')}\nCAREGRID_GATEWAY_HOST_IP=0.0.0.0\n`);
    const reopened = load(composeFile, open).project!;
    expect(published(reopened)).toEqual({ [gatewayOwner]: [expect.objectContaining({ ...port, host_ip: '0.0.0.0' })], zipkin, mailpit });
  });

  it("sends every app's and every sidecar's spans to the zipkin service, which keeps a bounded number in memory", () => {
    const zipkin = project.services.zipkin!;
    expect(zipkin.image).toBe('openzipkin/zipkin:3.5.1');
    expect(zipkin.environment).toMatchObject({ STORAGE_TYPE: 'mem', MEM_MAX_SPANS: expect.stringMatching(/^\d+$/) });
    // Tracing never holds anything up: nothing waits for Zipkin.
    for (const [name, service] of Object.entries(project.services)) expect([name, service.depends_on?.zipkin]).toEqual([name, undefined]);
    const endpoint = 'http://zipkin:9411/api/v2/spans';
    for (const app of apps) {
      expect([app.appId, project.services[app.appId]!.environment?.OTEL_EXPORTER_ZIPKIN_ENDPOINT]).toEqual([app.appId, endpoint]);
      // daprd expands ${VAR} in a self-hosted Configuration: the address comes from the sidecar's environment.
      const sidecar = project.services[`${app.appId}-dapr`]!;
      const config = parse(readFileSync(app.configFile, 'utf8')) as {
        spec: { tracing: { samplingRate: string; zipkin: { endpointAddress: string } } };
      };
      const address = config.spec.tracing.zipkin.endpointAddress.replace(
        /\$\{([A-Z_]+)\}/g,
        (_m, name: string) => sidecar.environment?.[name] ?? '',
      );
      expect([app.appId, address, config.spec.tracing.samplingRate]).toEqual([app.appId, endpoint, '1']);
    }
  });

  it('gives each app and its sidecar a network namespace owned by an idle third service, so either can restart', () => {
    const owners = new Set<string>();
    for (const app of apps) {
      const service = project.services[app.appId]!;
      const sidecar = project.services[`${app.appId}-dapr`]!;
      const owner = /^service:(.+)$/.exec(service.network_mode ?? '')?.[1];
      expect([app.appId, sidecar.network_mode]).toEqual([app.appId, `service:${owner}`]);
      expect(owner).toBeDefined();
      expect([app.appId, `${app.appId}-dapr`]).not.toContain(owner);
      owners.add(owner!);
      const netns = project.services[owner!]!;
      expect(netns.network_mode).toBeUndefined();
      // Nothing that would restart it: it comes back with Docker (restart policy), depends on
      // nothing, has no healthcheck, and sleeps forever (under init, so a stop is prompt).
      expect({ owner, restart: netns.restart, init: netns.init, command: netns.command }).toEqual({
        owner,
        restart: 'unless-stopped',
        init: true,
        command: ['sleep', 'infinity'],
      });
      expect(netns.depends_on ?? {}).toEqual({});
      expect(netns.healthcheck).toBeUndefined();
      expect(netns.volumes ?? []).toEqual([]);
      // An image the file already pulls (dapr-init's).
      expect(netns.image).toBe(project.services['dapr-init']!.image);
    }
    expect(owners.size).toBe(apps.length);
  });

  it('runs every sidecar with mTLS: Sentry of the same Dapr version, its trust bundle, the root in each daprd', () => {
    const sentry = project.services.sentry!;
    expect(sentry.image).toBe(`daprio/sentry:${readInfraEnv().DAPR_VERSION}`);
    expect(sentry.ports ?? []).toEqual([]);
    const [credentials] = flagValues(sentry.command ?? [], 'issuer-credentials');
    expect(hostPathOf(sentry, `${credentials}/ca.crt`)).toBe('volume:sentry-credentials/ca.crt');
    // dapr-init fills that volume from what deploy:secrets rendered.
    for (const name of ['ca.crt', 'issuer.crt', 'issuer.key']) expect(existsSync(path.join(generatedDir, 'sentry', name))).toBe(true);
    const root = readFileSync(path.join(generatedDir, 'sentry', 'ca.crt'), 'utf8').trim();
    for (const app of apps) {
      const sidecar = project.services[`${app.appId}-dapr`]!;
      const command = sidecar.command ?? [];
      expect([app.appId, command.includes('--enable-mtls'), flagValues(command, 'sentry-address')]).toEqual([
        app.appId,
        true,
        ['sentry:50001'],
      ]);
      // The .env value, read back by Compose's own loader: the PEM with its newlines.
      expect(sidecar.environment?.DAPR_TRUST_ANCHORS).toBe(root);
      expect(sidecar.environment?.NAMESPACE).toBe('caregrid');
      expect(sidecar.depends_on?.sentry).toBeDefined();
    }
  });

  it("gives each sidecar (and the scheduler) its own Sentry token, naming it, and Sentry only the tokens' public key", () => {
    const sentry = project.services.sentry!;
    // The config's jwks validator reads jwks.json from Sentry's working directory.
    const sentryConfig = readFileSync(path.join(repoRoot, 'infra', 'sentry', 'config.yaml'), 'utf8');
    expect(sentryConfig).toMatch(/tokenValidators:\s*- name: jwks\s*options:\s*source: jwks\.json/);
    const jwksConfig = sentry.configs?.find((c) => c.target === path.posix.join(sentry.working_dir!, 'jwks.json'));
    const jwks = JSON.parse(project.configs![jwksConfig!.source]!.content!) as { keys: (JsonWebKey & { kid: string })[] };
    expect(jwks.keys.map((key) => Object.keys(key).sort())).toEqual([['alg', 'crv', 'kid', 'kty', 'use', 'x']]);
    expect(JSON.stringify(sentry)).not.toContain('SENTRY_TOKEN');
    /** The claims of the token a container's secret holds, once its signature checks against Sentry's key. */
    const claimsOf = (service: Service) => {
      expect(service.environment?.DAPR_SENTRY_TOKEN_FILE).toBe('/run/secrets/sentry-token');
      expect(service.secrets?.length).toBe(1);
      const [mounted] = service.secrets!;
      expect(mounted!.target).toBe('sentry-token');
      const token = env[project.secrets![mounted!.source]!.environment!]!;
      const [header, payload, signature] = token.split('.') as [string, string, string];
      const key = createPublicKey({ key: jwks.keys[0]!, format: 'jwk' });
      expect(verify(null, Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url'))).toBe(true);
      expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toMatchObject({ alg: 'EdDSA', kid: jwks.keys[0]!.kid });
      return JSON.parse(Buffer.from(payload, 'base64url').toString()) as { aud: string; sub: string };
    };
    const audience = 'spiffe://localhost/ns/default/dapr-sentry';
    for (const app of apps) {
      expect([app.appId, claimsOf(project.services[`${app.appId}-dapr`]!)]).toEqual([
        app.appId,
        { aud: audience, sub: `spiffe://public/ns/caregrid/${app.appId}` },
      ]);
      // The app container holds no token (a compromised app must not get its sidecar's identity this way).
      expect([app.appId, project.services[app.appId]!.secrets ?? []]).toEqual([app.appId, []]);
    }
    expect(claimsOf(project.services.scheduler!)).toEqual({ aud: audience, sub: 'spiffe://localhost/ns/default/dapr-scheduler' });
    // The signing key itself reaches no container and no file Compose reads.
    const values = JSON.parse(readFileSync(path.join(root, '.caregrid', 'deploy', 'compose.values.json'), 'utf8')) as Record<
      string,
      string
    >;
    expect(values.SENTRY_TOKEN_KEY).toContain('PRIVATE KEY');
    expect(readFileSync(envFile, 'utf8')).not.toContain('PRIVATE KEY');
    expect(JSON.stringify(project)).not.toContain('PRIVATE KEY');
  });

  it('runs the Dapr scheduler of the same version for every sidecar, its identity from the Compose Sentry, its data in its own volume', () => {
    const scheduler = project.services.scheduler!;
    expect(scheduler.image).toBe(`daprio/scheduler:${readInfraEnv().DAPR_VERSION}`);
    expect(scheduler.ports ?? []).toEqual([]);
    const command = scheduler.command ?? [];
    const [port] = flagValues(command, 'port');
    // What it tells the sidecars to connect to is what they are given: its name on the network.
    expect(flagValues(command, 'override-broadcast-host-port')).toEqual([`scheduler:${port}`]);
    // mTLS through the Compose Sentry, trusting the sidecars' root, and only the root reaches it.
    expect(command).toContain('--tls-enabled');
    expect(flagValues(command, 'sentry-address')).toEqual(flagValues(project.services['gateway-dapr']!.command ?? [], 'sentry-address'));
    const [anchors] = flagValues(command, 'trust-anchors-file');
    const config = scheduler.configs?.find((c) => c.target === anchors);
    const root = readFileSync(path.join(generatedDir, 'sentry', 'ca.crt'), 'utf8').trim();
    expect(project.configs?.[config!.source]?.content?.trim()).toBe(root);
    expect(JSON.stringify(scheduler.volumes ?? [])).not.toContain('sentry-credentials');
    // Its jobs outlive the container: the etcd data folder is a volume of its own, owned by the
    // nonroot user (dapr-init chowns it).
    const [data] = flagValues(command, 'etcd-data-dir');
    expect(mountOf(scheduler, data!)?.mount).toMatchObject({ type: 'volume', source: 'scheduler-data' });
    const init = project.services['dapr-init']!;
    const initTarget = init.volumes?.find((v) => v.source === 'scheduler-data')?.target;
    expect((init.command ?? []).join('\n')).toMatch(new RegExp(`chown -R 65532:65532 .*${initTarget}`));
    expect(scheduler.depends_on?.['dapr-init']?.condition).toBe('service_completed_successfully');
    for (const app of apps) {
      const sidecar = project.services[`${app.appId}-dapr`]!;
      expect([app.appId, flagValues(sidecar.command ?? [], 'scheduler-host-address')]).toEqual([app.appId, [`scheduler:${port}`]]);
      expect([app.appId, sidecar.depends_on?.scheduler?.condition]).toEqual([app.appId, 'service_started']);
    }
  });

  it(
    "passes daprd, Sentry and the scheduler only flags their 1.18 binaries know (each binary's own --help, built by infra/daprd/build.sh)",
    () => {
      const binaries = mkdtempSync(path.join(tmpdir(), 'caregrid-dapr-flags-'));
      const known = (name: string) => {
        const binary = path.join(binaries, name);
        execFileSync('bash', [path.join(repoRoot, 'infra', 'daprd', 'build.sh'), name, binary], { stdio: ['ignore', 'ignore', 'pipe'] });
        const help = spawnSync(binary, ['--help'], { encoding: 'utf8' });
        return new Set([...`${help.stdout}${help.stderr}`.matchAll(/^\s+--([a-z0-9-]+)/gm)].map((m) => m[1]!));
      };
      const used = (command: string[]) => command.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')[0]!);
      const daprd = known('daprd');
      expect(daprd.size).toBeGreaterThan(30);
      for (const app of apps) {
        const command = project.services[`${app.appId}-dapr`]!.command ?? [];
        expect([app.appId, used(command).filter((flag) => !daprd.has(flag))]).toEqual([app.appId, []]);
      }
      for (const name of ['sentry', 'scheduler']) {
        const flags = known(name);
        expect([name, used(project.services[name]!.command ?? []).filter((flag) => !flags.has(flag))]).toEqual([name, []]);
      }
    },
    30 * 60_000,
  );

  it('lets all sidecars share one name-resolution registry', () => {
    for (const app of apps) {
      const sidecar = project.services[`${app.appId}-dapr`]!;
      const config = parse(readFileSync(app.configFile, 'utf8')) as {
        spec: { nameResolution: { component: string; configuration: { connectionString: string } } };
      };
      expect(config.spec.nameResolution.component).toBe('sqlite');
      // daprd expands ${VAR} in a self-hosted Configuration: the path comes from the sidecar's environment.
      const dbFile = config.spec.nameResolution.configuration.connectionString.replace(
        /\$\{([A-Z_]+)\}/g,
        (_m, name: string) => sidecar.environment?.[name] ?? '',
      );
      expect(path.posix.isAbsolute(dbFile)).toBe(true);
      expect(hostPathOf(sidecar, dbFile)).toBe('volume:dapr-registry/nameresolution.db');
    }
  });

  it("sets each envRef of the sidecar's components, pointing into what is mounted", () => {
    const all = [...components(path.join(repoRoot, 'components')), ...components(generatedDir)];
    for (const app of apps) {
      const sidecar = project.services[`${app.appId}-dapr`]!;
      const loaded = all.filter((c) => !c.scopes || c.scopes.includes(app.appId));
      for (const component of loaded) {
        for (const item of component.spec.metadata ?? []) {
          if (!item.envRef) continue;
          const value = sidecar.environment?.[item.envRef];
          expect({ app: app.appId, component: component.metadata.name, [item.envRef]: value }).toEqual(
            expect.objectContaining({ [item.envRef]: expect.any(String) }),
          );
          if (item.envRef === 'KAFKA_BROKERS') expect(value).toBe('kafka:9092');
          // File paths: a config file mounted at exactly that path, or inside a volume.
          if (value!.startsWith('/')) {
            const asConfig = sidecar.configs?.some((c) => c.target === value);
            expect({ app: app.appId, [item.envRef]: value, mounted: asConfig || mountOf(sidecar, value!) !== undefined }).toMatchObject({
              mounted: true,
            });
          }
        }
      }
    }
  });

  it("gives each sidecar a secret store holding only its own service's secret", () => {
    for (const app of apps) {
      const sidecar = project.services[`${app.appId}-dapr`]!;
      const file = sidecar.environment?.CAREGRID_SECRETS_FILE;
      const mounted = sidecar.configs?.find((c) => c.target === file);
      expect(mounted).toBeDefined();
      const secrets = JSON.parse(project.configs![mounted!.source]!.content!) as Record<string, Record<string, string>>;
      const database = app.env.CAREGRID_DATABASE;
      if (!database) {
        expect(secrets).toEqual({});
        continue;
      }
      expect(Object.keys(secrets)).toEqual([app.appId]);
      const url = new URL(secrets[app.appId]!.databaseUrl!);
      const name = app.appId.replace(/-/g, '_');
      expect(url.hostname).toBe(DATABASE_SERVICES[database]);
      expect(project.services[url.hostname]).toBeDefined();
      expect(url.username).toBe(name);
      expect(url.pathname).toBe(`/${name}`);
      expect(url.password.length).toBeGreaterThanOrEqual(16);
    }
    const auth = JSON.parse(project.configs!['auth-service-secrets']!.content!) as Record<string, Record<string, string>>;
    expect(auth['auth-service']).toMatchObject({
      bootstrapAdminEmail: env.BOOTSTRAP_ADMIN_EMAIL,
      bootstrapAdminPassword: env.BOOTSTRAP_ADMIN_PASSWORD,
    });
  });

  it("gives notification-service's secret every key of the mail binding, sending to the mailpit service", () => {
    const mail = components(path.join(repoRoot, 'components')).find((c) => c.metadata.name === 'mail')!;
    const keys = (mail.spec.metadata ?? []).map((m) => (m as { secretKeyRef?: { name: string; key: string } }).secretKeyRef!);
    const secrets = JSON.parse(project.configs!['notification-service-secrets']!.content!) as Record<string, Record<string, string>>;
    for (const { name, key } of keys) expect([name, key, typeof secrets[name]?.[key]]).toEqual([name, key, 'string']);
    expect(secrets['notification-service']).toMatchObject({ smtpHost: 'mailpit', smtpPort: '1025' });
    expect(project.services.mailpit!.image).toBe(`axllent/mailpit:v${readInfraEnv().MAILPIT_VERSION}`);
  });

  it('creates the databases and logins the services connect with', () => {
    const postgresInit = project.configs!['postgres-init']!.content!;
    for (const app of apps.filter((a) => a.env.CAREGRID_DATABASE === 'postgres')) {
      const name = app.appId.replace(/-/g, '_');
      const secrets = JSON.parse(project.configs![`${app.appId}-secrets`]!.content!) as Record<string, Record<string, string>>;
      const password = new URL(secrets[app.appId]!.databaseUrl!).password;
      expect(postgresInit).toContain(`CREATE ROLE ${name} LOGIN PASSWORD '${password}';`);
      expect(postgresInit).toContain(`CREATE DATABASE ${name} OWNER ${name};`);
    }
    const mysql = project.services.mysql!.environment!;
    const doctorUrl = new URL(
      (JSON.parse(project.configs!['doctor-service-secrets']!.content!) as Record<string, Record<string, string>>)['doctor-service']!
        .databaseUrl!,
    );
    expect(mysql).toMatchObject({ MYSQL_DATABASE: 'doctor_service', MYSQL_USER: 'doctor_service', MYSQL_PASSWORD: doctorUrl.password });
    // Every datastore keeps its data in a named volume.
    for (const name of ['postgres', 'mysql', 'mongo', 'kafka']) {
      expect(project.services[name]!.volumes?.some((v) => v.type === 'volume')).toBe(true);
      expect(project.services[name]!.healthcheck?.test.length).toBeGreaterThan(0);
    }
  });

  it("gives analytics-service the MongoDB logins mongo's init script creates: its own, the audit trail's writer and retention", () => {
    const mongo = project.services.mongo!;
    const init = mongo.configs?.find((c) => c.target.startsWith('/docker-entrypoint-initdb.d/'));
    // The one script the Kubernetes dev overlay runs too (test/deploy/mongo-init.test.ts checks what it creates).
    expect(project.configs![init!.source]!.file).toBe(MONGO_INIT_FILE);
    const effects = runMongoInit(readFileSync(MONGO_INIT_FILE, 'utf8'), mongo.environment as Record<string, string>);
    const secret = (JSON.parse(project.configs!['analytics-service-secrets']!.content!) as Record<string, Record<string, string>>)[
      'analytics-service'
    ]!;
    expect(Object.fromEntries(Object.entries(secret).map(([key, url]) => [key, loginOf(url, effects)]))).toEqual(analyticsLogins('mongo'));
    // Three logins, three passwords.
    expect(new Set(Object.values(secret).map((url) => new URL(url).password)).size).toBe(3);
  });

  it('hands the rendered JWT policy to the gateway sidecar and the signing keys to auth-service only', () => {
    const init = project.services['dapr-init']!;
    expect(init.volumes).toContainEqual(
      expect.objectContaining({ type: 'bind', source: path.join(repoRoot, '.caregrid', 'compose'), read_only: true }),
    );
    const script = (init.command ?? []).join(' ');
    for (const file of readdirSync(generatedDir).filter((f) => f !== 'values.json')) expect(script).toContain(file);
    expect(script).not.toContain('values.json');
    const generatedVolume = (appId: string) => mountOf(project.services[`${appId}-dapr`]!, '/caregrid/generated')?.mount.source;
    expect(generatedVolume('gateway')).toBe('gateway-generated');
    expect(generatedVolume('auth-service')).toBe('auth-generated');
    for (const app of apps.filter((a) => !['gateway', 'auth-service'].includes(a.appId)))
      expect(generatedVolume(app.appId)).toBeUndefined();
  });

  it('builds every image with the Dockerfile, running what dapr.yaml runs', () => {
    const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
    for (const app of apps) expect(JSON.parse(cmd!)).toEqual(app.command);
    expect(dockerfile).toMatch(/^ARG SERVICE$/m);
    expect(dockerfile).toMatch(/^USER 10001:10001$/m);
    // The image's own stages (deps, runtime) take nothing of devkit, tests or local state; the
    // clinic-app build stage runs devkit's one build file, and only its dist/ reaches the image.
    const [buildStage, imageStages] = dockerfile.split(/^FROM \S+ AS deps$/m) as [string, string];
    const copied = imageStages.split('\n').filter((line) => line.startsWith('COPY '));
    expect(copied.filter((line) => /devkit|\btest\b|\.caregrid/.test(line))).toEqual([]);
    expect(copied.filter((line) => line.startsWith('COPY --from=clinic-app'))).toEqual([
      'COPY --from=clinic-app /app/packages/clinic-app/dist packages/clinic-app/dist',
    ]);
    expect(buildStage.split('\n').filter((line) => /^COPY .*devkit/.test(line))).toEqual([
      'COPY packages/devkit/src/build-app.ts packages/devkit/src/',
    ]);
    const ignored = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '**/test', '.caregrid', '.git', '.env']));
  });
});

describe('signing-key rotation (npm run deploy:secrets -- compose --rotate-signing-key, then docker compose up -d)', () => {
  type Jwk = { kid: string; d?: string };
  type Rendered = { project: Project; kid: string; sidecarFile: string; keys: Jwk[]; published: string[] };
  const rotationRoot = mkdtempSync(path.join(tmpdir(), 'caregrid-compose-rotation-'));
  const rendered = path.join(rotationRoot, '.caregrid', 'compose');
  copyFileSync(path.join(repoRoot, '.env.example'), path.join(rotationRoot, '.env.example'));

  /** Renders (rotating or not), loads the project and follows auth-service's key store to the file dapr-init copies. */
  async function render(rotateSigningKey: boolean): Promise<Rendered> {
    await renderDeploySecrets('compose', { root: rotationRoot, rotateSigningKey });
    const result = load(composeFile, path.join(rotationRoot, '.env'));
    if (!result.project) throw new Error(result.error);
    const project = result.project;
    const sidecar = project.services['auth-service-dapr']!;
    const store = parse(readFileSync(path.join(rendered, 'auth-keys.yaml'), 'utf8')) as {
      spec: { metadata: { name: string; value?: string; envRef?: string }[] };
    };
    const item = store.spec.metadata.find((m) => m.name === 'secretsFile')!;
    const sidecarFile = (item.envRef ? sidecar.environment?.[item.envRef] : item.value)!;
    // In the sidecar: the auth-generated volume, which dapr-init (mounting it at /auth) fills from the rendered folder.
    const inVolume = hostPathOf(sidecar, sidecarFile);
    expect(inVolume).toMatch(/^volume:auth-generated\//);
    const rest = inVolume!.slice('volume:auth-generated/'.length);
    const init = project.services['dapr-init']!;
    expect(init.volumes).toContainEqual(expect.objectContaining({ type: 'volume', source: 'auth-generated', target: '/auth' }));
    const script = (init.command ?? []).join('\n').replaceAll('$AUTH_SIGNING_KEY_ID', init.environment?.AUTH_SIGNING_KEY_ID ?? '');
    expect(script).toContain(`install -m 0400 -o 65532 -g 65532 "${rest}"`);
    expect(script).toContain(`"/auth/${rest}"`);
    const stored = JSON.parse(readFileSync(path.join(rendered, rest), 'utf8')) as Record<string, Record<string, string>>;
    const keys = JSON.parse(stored['signing-keys']!.keys!) as Jwk[];
    const policy = parse(readFileSync(path.join(rendered, 'jwt-auth.yaml'), 'utf8')) as {
      spec: { metadata: { name: string; value: string }[] };
    };
    const rego = policy.spec.metadata.find((m) => m.name === 'rego')!.value;
    const jwks = JSON.parse(/jwks := `([^`]*)`/.exec(rego)![1]!) as { keys: Jwk[] };
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);
    return { project, kid: keys[0]!.kid, sidecarFile, keys, published: jwks.keys.map((k) => k.kid) };
  }

  it('gives every rotation a new keys file, so Compose recreates auth-service-dapr (and reruns dapr-init) only', async () => {
    const first = await render(false);
    const second = await render(true);
    const third = await render(true);
    expect(first.keys.map((k) => k.kid)).toEqual([first.kid]);
    // The new key signs; the previous one stays, in auth's store and in the gateway's policy.
    expect(second.keys.map((k) => k.kid)).toEqual([second.kid, first.kid]);
    expect(second.published).toEqual([second.kid, first.kid]);
    expect(third.keys.map((k) => k.kid)).toEqual([third.kid, second.kid]);
    expect(third.published).toEqual([third.kid, second.kid]);
    expect([first, second, third].every((r) => r.keys.every((k) => k.d !== undefined))).toBe(true);

    // A local file secret store reads its file once: the path must change, in the sidecar's own
    // definition, which is what makes `docker compose up -d` recreate it. Nothing else restarts.
    for (const [before, after] of [
      [first, second],
      [second, third],
    ] as const) {
      expect(after.sidecarFile).not.toBe(before.sidecarFile);
      expect(after.sidecarFile).toContain(after.kid);
      const changed = Object.keys(after.project.services).filter(
        (name) => JSON.stringify(before.project.services[name]) !== JSON.stringify(after.project.services[name]),
      );
      expect(changed.sort()).toEqual(['auth-service-dapr', 'dapr-init']);
    }
    // Only the current file is left for dapr-init to copy.
    expect(readdirSync(path.join(rendered, 'keys'))).toEqual([`${third.kid}.json`]);
    expect(readFileSync(path.join(rotationRoot, '.env'), 'utf8')).toContain(`\nAUTH_SIGNING_KEY_ID=${third.kid}\n`);
  });
});

describe('the validator', () => {
  it('rejects a misspelt depends_on condition', () => {
    const bad = path.join(root, 'docker-compose.yml');
    const text = readFileSync(composeFile, 'utf8');
    expect(text).toContain('condition: service_healthy');
    writeFileSync(bad, text.replace('condition: service_healthy', 'condition: service_healty'));
    const result = load(bad, envFile);
    expect(result.project).toBeUndefined();
    expect(result.error).toMatch(/condition/);
  });

  it('rejects an env file without a required variable, naming it', () => {
    const partial = path.join(root, 'partial.env');
    writeFileSync(
      partial,
      readFileSync(envFile, 'utf8')
        .split('\n')
        .filter((line) => !line.startsWith('PATIENT_DB_PASSWORD='))
        .join('\n'),
    );
    const result = load(composeFile, partial);
    expect(result.project).toBeUndefined();
    expect(result.error).toContain('PATIENT_DB_PASSWORD');
    expect(result.error).toContain('npm run deploy:secrets -- compose');
  });
});
