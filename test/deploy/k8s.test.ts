/**
 * The Kubernetes deployment (k8s/), checked offline: each overlay is rendered the
 * way a reader deploys it (`npm run deploy:secrets -- k8s/overlays/<o>`, then
 * `kubectl kustomize`) in a copy of the repository, and what comes out must be
 * valid — core objects against the Kubernetes schemas of kubernetes-validate
 * (--strict: unknown fields are errors), Dapr objects against the Dapr CRDs —
 * and consistent with the local run: the apps, app-ids and ports of
 * dapr/dapr.yaml, the secret names the services and Dapr read, the gateway's
 * JWT policy.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadDaprSchemas, loadRunFile, repoRoot } from '@caregrid/devkit';
import { copyDeployment, decode, type KubeObject, kubernetesValidate, type Metadata, renderOverlay } from './k8s-render.js';
import { analyticsLogins, loginOf, runMongoInit } from './mongo-init.js';

type EnvVar = {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } };
};
type Container = {
  name: string;
  image: string;
  env?: EnvVar[];
  envFrom?: { secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
};
type PodTemplate = { metadata: Metadata; spec: { containers: Container[]; serviceAccountName?: string } };
type Workload = KubeObject & { spec: { replicas?: number; template: PodTemplate } };
type ComponentSpec = { type: string; metadata: { name: string; value?: string; envRef?: string }[] };
type Component = KubeObject & { spec: ComponentSpec };
type Configuration = KubeObject & {
  spec: {
    nameResolution?: { component: string };
    httpPipeline?: { handlers: { name: string; type: string }[] };
    tracing?: { samplingRate?: string; stdout?: boolean; zipkin?: { endpointAddress?: string } };
  };
};
type Service = KubeObject & { spec: { selector: Record<string, string>; ports: { port: number; targetPort?: string | number }[] } };
type IngressRule = { from: { podSelector?: { matchLabels?: Record<string, string> } }[]; ports: { port: number }[] };
type NetworkPolicy = KubeObject & { spec: { podSelector: { matchLabels?: Record<string, string> }; ingress?: IngressRule[] } };
type Role = KubeObject & { rules: { resources: string[]; resourceNames?: string[]; verbs: string[] }[] };

const NAMESPACE = 'caregrid';
const apps = loadRunFile(path.join(repoRoot, 'dapr', 'dapr.yaml'));
const daprSchemas = loadDaprSchemas();

const isDapr = (o: KubeObject) => o.apiVersion.startsWith('dapr.io/');

/** A copy of the repository's deployment files, rendered per overlay as the README says. */
const { dir: work, dispose } = copyDeployment();
afterAll(dispose);
const render = (overlay: string) => renderOverlay(work, overlay);

describe.each(['dev', 'prod'])('k8s/overlays/%s', (overlay) => {
  let objects: KubeObject[] = [];
  const all = <T extends KubeObject>(kind: string) => objects.filter((o) => o.kind === kind) as T[];
  const one = <T extends KubeObject>(kind: string, name: string) => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
    if (!found) throw new Error(`no ${kind} ${name} in the ${overlay} overlay`);
    return found as T;
  };
  const secretValue = (name: string, key: string) => {
    const value = one('Secret', name).data?.[key];
    if (value === undefined) throw new Error(`Secret ${name} has no key ${key}`);
    return decode(value);
  };

  beforeAll(async () => {
    objects = await render(overlay);
  });

  it('renders, everything in the caregrid namespace', () => {
    expect(objects.length).toBeGreaterThan(40);
    for (const o of objects.filter((x) => x.kind !== 'Namespace')) {
      expect([o.kind, o.metadata.name, o.metadata.namespace]).toEqual([o.kind, o.metadata.name, NAMESPACE]);
    }
    expect(one('Namespace', NAMESPACE)).toBeDefined();
  });

  it('every Kubernetes object is valid against the Kubernetes schemas (strict)', () => {
    // Dapr and Gateway API objects are checked against their CRDs (here and in k8s-gateway-route.test.ts).
    const core = objects.filter((o) => !isDapr(o) && !o.apiVersion.startsWith('gateway.networking.k8s.io/'));
    expect(core.length).toBeGreaterThan(30);
    expect(kubernetesValidate(core, work)).toBe('');
  });

  it('every Dapr object is valid against the Dapr CRDs', () => {
    const dapr = objects.filter(isDapr);
    expect(dapr.map((o) => o.kind)).toEqual(expect.arrayContaining(['Component', 'Configuration', 'Resiliency', 'Subscription']));
    for (const o of dapr) expect([o.kind, o.metadata.name, daprSchemas.validate(o)]).toEqual([o.kind, o.metadata.name, []]);
  });

  it('runs exactly the apps of dapr/dapr.yaml, with their app-ids, ports and Configurations', () => {
    const daprDeployments = all<Workload>('Deployment').filter((d) => d.spec.template.metadata.annotations?.['dapr.io/enabled'] === 'true');
    expect(daprDeployments.map((d) => d.metadata.name).sort()).toEqual(apps.map((a) => a.appId).sort());
    for (const app of apps) {
      const deployment = one<Workload>('Deployment', app.appId);
      const annotations = deployment.spec.template.metadata.annotations ?? {};
      const container = deployment.spec.template.spec.containers.find((c) => c.name === 'app')!;
      const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
      expect({
        appId: annotations['dapr.io/app-id'],
        appPort: annotations['dapr.io/app-port'],
        config: annotations['dapr.io/config'],
        containerPort: container.ports?.find((p) => p.name === 'http')?.containerPort,
        env: { APP_ID: env.APP_ID, APP_PORT: env.APP_PORT, APP_BIND_ADDRESS: env.APP_BIND_ADDRESS },
        image: container.image.split(':')[0],
        serviceAccount: deployment.spec.template.spec.serviceAccountName,
      }).toEqual({
        appId: app.appId,
        appPort: String(app.appPort),
        config: path.basename(app.configFile, '.yaml'),
        containerPort: app.appPort,
        env: { APP_ID: app.appId, APP_PORT: String(app.appPort), APP_BIND_ADDRESS: '0.0.0.0' },
        image: execFileSync('bash', [path.join(repoRoot, 'k8s', 'image-registry', 'image-name.sh'), app.appId], {
          encoding: 'utf8',
        }).trim(),
        serviceAccount: app.appId,
      });
      expect(container.image).toMatch(overlay === 'dev' ? /:dev$/ : /:\d+\.\d+\.\d+$/);
      expect(annotations['dapr.io/enable-app-health-check']).toBe('true');
      expect(annotations['dapr.io/app-health-check-path']).toBe('/healthz');
      // Its Configuration exists in the render.
      one('Configuration', annotations['dapr.io/config']!);
    }
  });

  it('the app token: the sidecar and the app read the same Secret key (every app but the gateway)', () => {
    for (const app of apps) {
      const template = one<Workload>('Deployment', app.appId).spec.template;
      const secretName = template.metadata.annotations?.['dapr.io/app-token-secret'];
      const tokenEnv = template.spec.containers.find((c) => c.name === 'app')!.env?.find((e) => e.name === 'APP_API_TOKEN');
      if (app.appId === 'gateway') {
        expect([secretName, tokenEnv]).toEqual([undefined, undefined]);
        continue;
      }
      expect(secretName).toBe(`${app.appId}-app-token`);
      expect(tokenEnv?.valueFrom?.secretKeyRef).toEqual({ name: secretName, key: 'token' });
      expect(secretValue(secretName!, 'token').length).toBeGreaterThanOrEqual(16);
    }
  });

  it('Secrets carry the names Dapr reads, filled (no placeholder left)', () => {
    for (const secret of all('Secret')) {
      for (const [key, value] of Object.entries(secret.data ?? {})) {
        expect([secret.metadata.name, key, decode(value).includes('${')]).toEqual([secret.metadata.name, key, false]);
      }
    }
    for (const app of apps.filter((a) => a.env.CAREGRID_DATABASE))
      expect(secretValue(app.appId, 'databaseUrl')).toMatch(/^(postgres|mysql|mongodb):\/\//);
    expect(secretValue('auth-service', 'bootstrapAdminEmail')).toBe('admin@caregrid.local');
    expect(secretValue('auth-service', 'bootstrapAdminPassword').length).toBeGreaterThanOrEqual(16);
    const keys = JSON.parse(secretValue('signing-keys', 'keys')) as { kty: string; d?: string; x: string }[];
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.every((k) => k.kty === 'EC' && k.d)).toBe(true);
    // Every Secret a pod refers to is rendered.
    const secrets = new Set(all('Secret').map((s) => s.metadata.name));
    for (const workload of [...all<Workload>('Deployment'), ...all<Workload>('StatefulSet')]) {
      const { metadata, spec } = workload.spec.template;
      const referenced = [
        metadata.annotations?.['dapr.io/app-token-secret'],
        ...spec.containers.flatMap((c) => [
          ...(c.env ?? []).map((e) => e.valueFrom?.secretKeyRef?.name),
          ...(c.envFrom ?? []).map((e) => e.secretRef?.name),
        ]),
      ].filter((name): name is string => Boolean(name));
      for (const name of referenced)
        expect([workload.metadata.name, secrets.has(name) ? name : `missing ${name}`]).toEqual([workload.metadata.name, name]);
    }
  });

  it("each app's service account may get only its own secrets", () => {
    for (const app of apps) {
      const role = one<Role>('Role', `${app.appId}-secrets`);
      const allowed = app.appId === 'auth-service' ? ['auth-service', 'signing-keys'] : [app.appId];
      expect(role.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], resourceNames: allowed, verbs: ['get'] }]);
      const binding = one<KubeObject & { subjects: { name: string }[]; roleRef: { name: string } }>('RoleBinding', `${app.appId}-secrets`);
      expect([binding.roleRef.name, binding.subjects.map((s) => s.name)]).toEqual([role.metadata.name, [app.appId]]);
    }
  });

  it('Dapr on Kubernetes: kubernetes name resolution, secret stores and no envRef a sidecar cannot resolve', () => {
    for (const configuration of all<Configuration>('Configuration')) {
      expect([configuration.metadata.name, configuration.spec.nameResolution?.component]).toEqual([
        configuration.metadata.name,
        'kubernetes',
      ]);
    }
    const components = all<Component>('Component');
    for (const component of components) {
      expect([component.metadata.name, (component.scopes ?? []).length > 0]).toEqual([component.metadata.name, true]);
      // daprd on Kubernetes resolves envRef only for variables the injector listed (dapr.io/env,
      // dapr.io/env-from-secret): each sidecar the component is scoped to must get every one.
      for (const { envRef } of component.spec.metadata.filter((m) => m.envRef)) {
        for (const app of component.scopes ?? []) {
          const annotations = one<Workload>('Deployment', app).spec.template.metadata.annotations ?? {};
          const listed = [annotations['dapr.io/env'], annotations['dapr.io/env-from-secret']].join(',');
          expect([component.metadata.name, app, envRef, listed.includes(`${envRef}=`)]).toEqual([
            component.metadata.name,
            app,
            envRef,
            true,
          ]);
        }
      }
    }
    expect(one<Component>('Component', 'secretstore').spec.type).toBe('secretstores.kubernetes');
    expect(one<Component>('Component', 'auth-keys')).toMatchObject({ spec: { type: 'secretstores.kubernetes' }, scopes: ['auth-service'] });
    const brokers = one<Component>('Component', 'events').spec.metadata.find((m) => m.name === 'brokers')?.value;
    expect(brokers).toEqual(overlay === 'dev' ? 'kafka:9092' : expect.stringMatching(/^[\w.-]+:\d+(,[\w.-]+:\d+)*$/));
    // The binding's root path is where billing's sidecar mounts the invoice volume.
    const rootPath = one<Component>('Component', 'invoice-storage').spec.metadata.find((m) => m.name === 'rootPath')?.value;
    const billing = one<Workload>('Deployment', 'billing-service');
    expect(billing.spec.template.metadata.annotations?.['dapr.io/volume-mounts-rw']).toBe(`invoices:${rootPath}`);
    expect(billing.spec.replicas).toBe(1);
  });

  it('mTLS on and access control lists naming the sidecars as they are on this cluster', () => {
    for (const configuration of all<Configuration>('Configuration')) {
      const spec = configuration.spec as Configuration['spec'] & {
        mtls?: { enabled: boolean };
        accessControl?: { defaultAction: string; policies?: { appId: string; namespace: string }[] };
      };
      expect([configuration.metadata.name, spec.mtls?.enabled, spec.accessControl?.defaultAction]).toEqual([
        configuration.metadata.name,
        true,
        'deny',
      ]);
      // An ACL entry matches a caller's SPIFFE id only in the namespace its pod runs in.
      for (const policy of spec.accessControl?.policies ?? []) expect([policy.appId, policy.namespace]).toEqual([policy.appId, NAMESPACE]);
    }
    const policies = (one<Configuration>('Configuration', 'caregrid').spec as { accessControl: { policies: { appId: string }[] } })
      .accessControl.policies;
    expect(policies.map((p) => p.appId).every((id) => apps.some((a) => a.appId === id))).toBe(true);
  });

  it("the gateway's JWT policy is rendered, scoped to the gateway and in its Configuration's pipeline", () => {
    const policy = one<Component>('Component', 'jwt-auth');
    expect(policy.spec.type).toBe('middleware.http.opa');
    expect(policy.scopes).toEqual(['gateway']);
    const handlers = one<Configuration>('Configuration', 'gateway').spec.httpPipeline?.handlers ?? [];
    expect(handlers).toContainEqual(expect.objectContaining({ name: 'jwt-auth', type: 'middleware.http.opa' }));
    // The policy holds the public halves of the signing keys in the Secret, never a private one.
    const rego = policy.spec.metadata.find((m) => m.name === 'rego')?.value ?? '';
    for (const key of JSON.parse(secretValue('signing-keys', 'keys')) as { x: string; d: string }[]) {
      expect(rego).toContain(key.x);
      expect(rego).not.toContain(key.d);
    }
  });

  it('availability: a disruption budget per app, appointment-service never below two replicas', () => {
    for (const app of apps)
      expect(one<KubeObject & { spec: object }>('PodDisruptionBudget', app.appId).spec).toMatchObject({ maxUnavailable: 1 });
    const hpas = all<KubeObject & { spec: { minReplicas: number; scaleTargetRef: { name: string } } }>('HorizontalPodAutoscaler');
    expect(hpas.map((h) => h.spec.scaleTargetRef.name).sort()).toEqual(['appointment-service', 'gateway']);
    // The cleanup cron fires in every replica; the app's advisory lock makes one of them purge.
    expect(hpas.find((h) => h.metadata.name === 'appointment-service')?.spec.minReplicas).toBeGreaterThanOrEqual(2);
    // Deployments under an HPA leave the count to it (an apply would otherwise reset it).
    for (const hpa of hpas) expect(one<Workload>('Deployment', hpa.spec.scaleTargetRef.name).spec.replicas).toBeUndefined();
  });

  it('every Deployment that runs more than one replica spreads them over nodes (hard) and zones (soft)', () => {
    type Spread = {
      topologyKey: string;
      whenUnsatisfiable: string;
      maxSkew: number;
      labelSelector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
      matchLabelKeys?: string[];
    };
    const hpaTargets = all<KubeObject & { spec: { scaleTargetRef: { name: string } } }>('HorizontalPodAutoscaler').map(
      (h) => h.spec.scaleTargetRef.name,
    );
    const multi = all<Workload>('Deployment').filter((d) => (d.spec.replicas ?? 1) > 1 || hpaTargets.includes(d.metadata.name));
    expect(multi.length).toBeGreaterThanOrEqual(overlay === 'dev' ? 2 : 6);
    for (const d of multi) {
      const { metadata, spec } = d.spec.template as PodTemplate & { spec: { topologySpreadConstraints?: Spread[] } };
      const constraints = spec.topologySpreadConstraints ?? [];
      const byKey = Object.fromEntries(constraints.map((c) => [c.topologyKey, c.whenUnsatisfiable]));
      expect([d.metadata.name, byKey]).toEqual([
        d.metadata.name,
        { 'kubernetes.io/hostname': 'DoNotSchedule', 'topology.kubernetes.io/zone': 'ScheduleAnyway' },
      ]);
      for (const c of constraints) {
        // The selector counts this app's pods and no other app's: its own pods match it, and the
        // app's name is one of the keys taken from the pod (or fixed in matchLabels).
        const labels = metadata.labels ?? {};
        const matches =
          Object.entries(c.labelSelector.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
          (c.labelSelector.matchExpressions ?? []).every((e) =>
            e.operator === 'Exists' ? e.key in labels : e.operator === 'In' ? e.values!.includes(labels[e.key]!) : false,
          );
        const ownApp =
          c.matchLabelKeys?.includes('app.kubernetes.io/name') ||
          c.labelSelector.matchLabels?.['app.kubernetes.io/name'] === d.metadata.name;
        expect([d.metadata.name, c.topologyKey, matches, ownApp, c.maxSkew]).toEqual([d.metadata.name, c.topologyKey, true, true, 1]);
      }
    }
  });

  it("the mail binding's server, login and sender: keys of notification-service's Secret (dev: the in-cluster Mailpit)", () => {
    const mail = one<KubeObject & { spec: { metadata: { secretKeyRef?: { name: string; key: string } }[] } }>('Component', 'mail');
    for (const { secretKeyRef } of mail.spec.metadata) expect(() => secretValue(secretKeyRef!.name, secretKeyRef!.key)).not.toThrow();
    if (overlay === 'dev') {
      expect([secretValue('notification-service', 'smtpHost'), secretValue('notification-service', 'smtpPort')]).toEqual([
        'mailpit',
        '1025',
      ]);
      expect(one<Service>('Service', 'mailpit').spec.ports.map((p) => p.port)).toContain(1025);
    } else expect(secretValue('notification-service', 'smtpPassword').length).toBeGreaterThanOrEqual(16);
  });

  it('tracing: one endpoint and sampling rate (ConfigMap `tracing`) for every Configuration and every app', () => {
    const tracing = one('ConfigMap', 'tracing').data ?? {};
    const { zipkinEndpoint, samplingRate } = tracing;
    expect(zipkinEndpoint).toEqual(
      overlay === 'dev' ? 'http://zipkin:9411/api/v2/spans' : expect.stringMatching(/^https?:\/\/[\w.-]+(:\d+)?\/api\/v2\/spans$/),
    );
    // Everything in dev; a share in prod.
    if (overlay === 'dev') expect(samplingRate).toBe('1');
    else expect([Number(samplingRate) > 0, Number(samplingRate) < 1]).toEqual([true, true]);

    // daprd: the overlay's values, filled in (daprd on Kubernetes expands no ${…}).
    const configurations = all<Configuration>('Configuration');
    expect(configurations.map((c) => c.metadata.name).sort()).toEqual(['caregrid', 'gateway']);
    for (const configuration of configurations) {
      expect([configuration.metadata.name, configuration.spec.tracing]).toEqual([
        configuration.metadata.name,
        { samplingRate, stdout: false, zipkin: { endpointAddress: zipkinEndpoint } },
      ]);
      expect([configuration.metadata.name, JSON.stringify(configuration).includes('${')]).toEqual([configuration.metadata.name, false]);
    }

    // The apps: the same two values from the same ConfigMap, the sampler the OpenTelemetry SDK reads.
    for (const app of apps) {
      const env = one<Workload>('Deployment', app.appId).spec.template.spec.containers.find((c) => c.name === 'app')!.env ?? [];
      const byName = Object.fromEntries(env.map((e) => [e.name, e.value ?? e.valueFrom]));
      expect([app.appId, byName.OTEL_EXPORTER_ZIPKIN_ENDPOINT, byName.OTEL_TRACES_SAMPLER, byName.OTEL_TRACES_SAMPLER_ARG]).toEqual([
        app.appId,
        { configMapKeyRef: { name: 'tracing', key: 'zipkinEndpoint' } },
        'parentbased_traceidratio',
        { configMapKeyRef: { name: 'tracing', key: 'samplingRate' } },
      ]);
    }

    const zipkinWorkloads = [...all<Workload>('Deployment'), ...all<Workload>('StatefulSet')].filter((w) =>
      w.spec.template.spec.containers.some((c) => c.image.includes('zipkin')),
    );
    if (overlay === 'prod') {
      // The operator's collector, outside this overlay.
      expect(zipkinWorkloads).toEqual([]);
      expect(all('Service').filter((s) => s.metadata.name === 'zipkin')).toEqual([]);
      return;
    }
    // dev: its own Zipkin behind the Service the endpoint names, reachable from the app pods.
    expect(zipkinWorkloads.map((w) => w.metadata.name)).toEqual(['zipkin']);
    const zipkin = zipkinWorkloads[0]!.spec.template;
    const container = zipkin.spec.containers[0]!;
    expect(container.image).toBe('openzipkin/zipkin:3.5.1');
    const containerEnv = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
    expect(containerEnv).toMatchObject({ STORAGE_TYPE: 'mem', MEM_MAX_SPANS: expect.stringMatching(/^\d+$/) });
    const url = new URL(zipkinEndpoint!);
    const service = one<Service>('Service', url.hostname);
    expect(Object.entries(service.spec.selector).every(([k, v]) => zipkin.metadata.labels?.[k] === v)).toBe(true);
    const port = service.spec.ports.find((p) => p.port === Number(url.port));
    expect(container.ports?.find((p) => p.name === port?.targetPort)?.containerPort).toBe(9411);
    const admitted = all<NetworkPolicy>('NetworkPolicy').filter((policy) =>
      Object.entries(policy.spec.podSelector.matchLabels ?? {}).every(([k, v]) => zipkin.metadata.labels?.[k] === v),
    );
    const fromApps = admitted.some((policy) =>
      (policy.spec.ingress ?? []).some(
        (rule) =>
          rule.from.some((peer) => peer.podSelector?.matchLabels?.['app.kubernetes.io/component'] === 'service') &&
          rule.ports.some((p) => p.port === 9411),
      ),
    );
    expect(fromApps).toBe(true);
  });

  it(`${overlay} logs in to Kafka by SASL/SCRAM (${overlay === 'dev' ? 'plaintext inside the namespace' : 'over TLS'}), each sidecar as its app-id with its own password from a Secret the overlay generates`, () => {
    const events = one<
      KubeObject & { spec: { metadata: { name: string; value?: string; secretKeyRef?: { name: string; key: string } }[] } }
    >('Component', 'events');
    const meta = Object.fromEntries(events.spec.metadata.map((m) => [m.name, m]));
    expect(meta).toMatchObject({
      authType: { value: 'password' },
      disableTls: { value: overlay === 'dev' ? 'true' : 'false' },
      saslMechanism: { value: 'SHA-512' },
      saslUsername: { value: '{appID}' },
      saslPassword: { envRef: 'KAFKA_SASL_PASSWORD' },
    });
    const passwords = new Set<string>();
    // Every Deployment with a sidecar that publishes or subscribes: all but the gateway's.
    const sidecars = all<Workload>('Deployment').filter((d) => d.spec.template.metadata.annotations?.['dapr.io/app-id']);
    expect(
      sidecars.find((d) => d.metadata.name === 'gateway')?.spec.template.metadata.annotations?.['dapr.io/env-from-secret'],
    ).toBeUndefined();
    for (const deployment of sidecars.filter((d) => d.metadata.name !== 'gateway')) {
      const app = deployment.metadata.name;
      // The injector puts the Secret's key into this sidecar's environment alone (and lists it in DAPR_ENV_KEYS, so envRef may read it).
      expect([app, deployment.spec.template.metadata.annotations?.['dapr.io/env-from-secret']]).toEqual([
        app,
        `KAFKA_SASL_PASSWORD=${app}-kafka:saslPassword`,
      ]);
      passwords.add(secretValue(`${app}-kafka`, 'saslPassword'));
    }
    expect(passwords.size).toBe(7);
    expect([...passwords].every((p) => p.length >= 24)).toBe(true);
    // The topic Job's admin login.
    expect(secretValue('kafka-credentials', 'saslUsername')).toBe(overlay === 'dev' ? 'admin' : 'caregrid');
    expect(secretValue('kafka-credentials', 'saslPassword').length).toBeGreaterThanOrEqual(24);
  });

  if (overlay === 'dev') {
    it('the dev Kafka takes logins only (SASL on every listener), authorizes by ACL with the admin as super user, and gets its users and ACLs before the topics', () => {
      type Env = { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } };
      type Container = { name: string; image: string; env: Env[] };
      type PodSpec = { initContainers?: Container[]; containers: Container[] };
      const kafka = one<KubeObject & { spec: { template: { spec: PodSpec } } }>('StatefulSet', 'kafka');
      const env = Object.fromEntries(kafka.spec.template.spec.containers[0]!.env.map((e) => [e.name, e]));
      const protocols = Object.fromEntries(env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP!.value!.split(',').map((p) => p.split(':')));
      for (const listener of env.KAFKA_LISTENERS!.value!.split(',')) {
        expect([listener, protocols[listener.split(':')[0]!]]).toEqual([listener, 'SASL_PLAINTEXT']);
      }
      expect(env.KAFKA_AUTHORIZER_CLASS_NAME?.value).toBe('org.apache.kafka.metadata.authorizer.StandardAuthorizer');
      expect(env.KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND?.value).toBe('false');
      expect(env.KAFKA_SUPER_USERS?.value).toBe('User:admin');
      expect(env.CAREGRID_KAFKA_ADMIN_PASSWORD?.valueFrom?.secretKeyRef).toEqual({ name: 'kafka-credentials', key: 'saslPassword' });

      // Compose's kafka-access, as the first step of the topic Job: users and ACLs, then the topics.
      const job = one<KubeObject & { spec: { template: { spec: PodSpec } } }>('Job', 'kafka-topics');
      const [access, ...otherInits] = job.spec.template.spec.initContainers ?? [];
      expect(otherInits).toEqual([]);
      expect(access?.name).toBe('kafka-access');
      expect(access!.image).toBe('ghcr.io/caregrid/kafka-access:dev');
      const accessEnv = Object.fromEntries(access!.env.map((e) => [e.name, e]));
      const events = one<Component>('Component', 'events');
      const meta = Object.fromEntries(events.spec.metadata.map((m) => [m.name, m.value]));
      expect(accessEnv.KAFKA_BROKERS?.value).toBe(meta.brokers);
      expect(accessEnv.PUBLISHING_SCOPES?.value).toBe(meta.publishingScopes);
      expect(accessEnv.SUBSCRIPTION_SCOPES?.value).toBe(meta.subscriptionScopes);
      expect(accessEnv.CONSUMER_GROUP?.value).toBe(meta.consumerGroup);
      const secretRefs = access!.env.flatMap((e) => (e.valueFrom ? [e.valueFrom.secretKeyRef.name] : []));
      const serviceIds = apps.map((a) => a.appId).filter((id) => id !== 'gateway');
      expect(secretRefs.sort()).toEqual(['kafka-credentials', ...serviceIds.map((id) => `${id}-kafka`)].sort());
      for (const name of secretRefs) one('Secret', name);
    });

    it('dev runs its datastores in-cluster, with the passwords the services connect with', () => {
      expect(
        all('StatefulSet')
          .map((s) => s.metadata.name)
          .sort(),
      ).toEqual(['kafka', 'mongo', 'mysql', 'postgres']);
      const initValues = new Set(
        ['postgres-init', 'mysql-init', 'mongo-init'].flatMap((name) => Object.values(one('Secret', name).data ?? {}).map(decode)),
      );
      for (const app of apps.filter((a) => a.env.CAREGRID_DATABASE)) {
        const url = new URL(secretValue(app.appId, 'databaseUrl'));
        expect([app.appId, url.username]).toEqual([app.appId, app.appId.replace(/-/g, '_')]);
        expect([app.appId, url.pathname]).toEqual([app.appId, `/${app.appId.replace(/-/g, '_')}`]);
        expect([app.appId, initValues.has(decodeURIComponent(url.password))]).toEqual([app.appId, true]);
        expect(all('Service').map((s) => s.metadata.name)).toContain(url.hostname);
      }
    });

    it("analytics-service's MongoDB URLs log in as the users mongo's init script creates, the audit trail's with their roles", () => {
      const mongo = one<Workload>('StatefulSet', 'mongo').spec.template.spec as PodTemplate['spec'] & {
        volumes: { name: string; configMap?: { name: string } }[];
      };
      const container = mongo.containers.find((c) => c.name === 'mongo')!;
      const secretNames = (container.envFrom ?? []).map((e) => e.secretRef!.name);
      const env = Object.fromEntries(
        secretNames.flatMap((name) => Object.entries(one('Secret', name).data ?? {}).map(([k, v]) => [k, decode(v)])),
      );
      // The init folder is the ConfigMap mongo-init, holding datastores/mongo-init.js (Compose's too).
      const configMap = mongo.volumes.find((v) => v.name === 'init')!.configMap!.name;
      const scripts = Object.values(one('ConfigMap', configMap).data ?? {});
      expect(scripts.length).toBe(1);
      const effects = runMongoInit(scripts[0]!, env);
      const secret = Object.fromEntries(
        Object.keys(one('Secret', 'analytics-service').data ?? {}).map((key) => [key, secretValue('analytics-service', key)]),
      );
      expect(Object.fromEntries(Object.entries(secret).map(([key, url]) => [key, loginOf(url, effects)]))).toEqual(
        analyticsLogins('mongo'),
      );
      // Three logins, three passwords.
      expect(new Set(Object.values(secret).map((url) => new URL(url).password)).size).toBe(3);
    });
  } else {
    it('prod has no in-cluster datastores: databases come through the Secrets', () => {
      expect(all('StatefulSet')).toEqual([]);
      for (const app of apps.filter((a) => a.env.CAREGRID_DATABASE)) {
        expect(new URL(secretValue(app.appId, 'databaseUrl')).hostname).toMatch(/\.example\.internal$/);
      }
    });

    it("analytics-service's secret names the audit trail's logins, in their own database on the managed host", () => {
      const logins = ['auditWriterUrl', 'auditRetentionUrl'].map((key) => {
        const url = new URL(secretValue('analytics-service', key));
        return [key, url.hostname, url.pathname, url.username, url.searchParams.get('authSource')];
      });
      const host = new URL(secretValue('analytics-service', 'databaseUrl')).hostname;
      expect(logins).toEqual([
        ['auditWriterUrl', host, '/analytics_audit', 'analytics_audit_writer', 'analytics_audit'],
        ['auditRetentionUrl', host, '/analytics_audit', 'analytics_audit_retention', 'analytics_audit'],
      ]);
    });
  }
});

describe('Kafka authentication is switchable', () => {
  it('the kafka-mtls component turns the events component to client certificates over TLS', () => {
    const overlay = path.join(work, 'k8s', 'overlays', 'kafka-mtls-check');
    mkdirSync(overlay, { recursive: true });
    writeFileSync(
      path.join(overlay, 'kustomization.yaml'),
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../../../components]\ncomponents: [../../components/kafka-mtls]\n',
    );
    const events = parseAllDocuments(execFileSync('kubectl', ['kustomize', overlay], { encoding: 'utf8' }))
      .map((doc) => doc.toJS() as KubeObject & { spec: { metadata: { name: string; value?: string; secretKeyRef?: unknown }[] } })
      .find((o) => o.kind === 'Component' && o.metadata.name === 'events')!;
    expect(daprSchemas.validate(events)).toEqual([]);
    const meta = Object.fromEntries(events.spec.metadata.map((m) => [m.name, m.value ?? m.secretKeyRef]));
    expect(meta).toMatchObject({
      authType: 'mtls',
      disableTls: 'false',
      caCert: { name: 'kafka-credentials', key: 'caCert' },
      clientCert: { name: 'kafka-credentials', key: 'clientCert' },
      clientKey: { name: 'kafka-credentials', key: 'clientKey' },
    });
  });
});

describe('the validators can fail', () => {
  const [deployment] = parseAllDocuments(execFileSync('kubectl', ['kustomize', path.join(repoRoot, 'k8s', 'base')], { encoding: 'utf8' }))
    .map((doc) => doc.toJS() as Workload)
    .filter((o) => o.kind === 'Deployment');

  it('kubernetes-validate --strict rejects a misspelt field and an unknown kind', () => {
    const misspelt = structuredClone(deployment!) as Workload & { spec: { template: { spec: Record<string, unknown> } } };
    misspelt.spec.template.spec.serviceAcountName = 'gateway';
    expect(kubernetesValidate([misspelt], work)).toMatch(/serviceAcountName/);
    expect(kubernetesValidate([{ apiVersion: 'example.org/v1', kind: 'Widget', metadata: { name: 'w' } }], work)).toMatch(/schema/i);
  });

  it('the Dapr CRD check rejects an unknown field', () => {
    const component = {
      apiVersion: 'dapr.io/v1alpha1',
      kind: 'Component',
      metadata: { name: 'x' },
      spec: { type: 'pubsub.kafka', version: 'v1', metadata: [], metdata: [] },
    };
    expect(daprSchemas.validate(component)).toEqual([expect.stringContaining('additional properties')]);
  });
});

describe('rendered secrets are never committed', () => {
  it.each(['k8s/overlays/dev/secrets/patient-service.env', 'k8s/overlays/prod/generated/jwt-auth.yaml'])('%s is git-ignored', (file) => {
    expect(execFileSync('git', ['check-ignore', file], { cwd: repoRoot, encoding: 'utf8' }).trim()).toBe(file);
  });
});
