/**
 * The public entry through the Kubernetes Gateway API (no Ingress: ingress-nginx was retired in
 * March 2026). The Gateway and HTTPRoute of each overlay are validated against the Gateway API
 * CRD schemas (v1.7.0, standard channel, vendored in ./crds/gateway-api from the Go module
 * sigs.k8s.io/gateway-api; kubernetes-validate does not know them), with unknown fields as
 * errors. The CRDs' CEL rules are not evaluated here; the rules they state that matter for
 * these objects are checked by hand below.
 */
import path from 'node:path';
import { loadDaprSchemas } from '@caregrid/devkit';
import { copyDeployment, type KubeObject, renderOverlay } from './k8s-render.js';

type ParentRef = { name: string; sectionName?: string; kind?: string };
type Listener = {
  name: string;
  protocol: string;
  port: number;
  hostname?: string;
  tls?: { mode: string; certificateRefs: { name: string }[] };
};
type Gateway = KubeObject & { spec: { gatewayClassName: string; listeners: Listener[] } };
type HttpRoute = KubeObject & {
  spec: {
    parentRefs: ParentRef[];
    hostnames?: string[];
    rules: { matches: { path: { type: string; value: string } }[]; backendRefs: { name: string; port: number; kind?: string }[] }[];
  };
};
type Service = KubeObject & { spec: { ports: { port: number }[] } };

const gatewayApi = loadDaprSchemas(path.join(import.meta.dirname, 'crds', 'gateway-api'));
const { dir: work, dispose } = copyDeployment();
afterAll(dispose);

describe.each(['dev', 'prod'])('k8s/overlays/%s: the gateway exposed by an HTTPRoute', (overlay) => {
  let objects: KubeObject[] = [];
  const of = <T extends KubeObject>(kind: string) => objects.filter((o) => o.kind === kind) as T[];

  beforeAll(async () => {
    objects = await renderOverlay(work, overlay);
  });

  it('no Ingress; one Gateway and one HTTPRoute, valid against the Gateway API v1 CRDs', () => {
    expect(of('Ingress')).toEqual([]);
    const gatewayObjects = objects.filter((o) => o.apiVersion.startsWith('gateway.networking.k8s.io/'));
    expect(gatewayObjects.map((o) => `${o.apiVersion} ${o.kind}`).sort()).toEqual([
      'gateway.networking.k8s.io/v1 Gateway',
      'gateway.networking.k8s.io/v1 HTTPRoute',
    ]);
    for (const o of gatewayObjects) expect([o.kind, gatewayApi.validate(o)]).toEqual([o.kind, []]);
  });

  it('the route attaches to the Gateway of the render and sends everything to the gateway Service only', () => {
    const [route] = of<HttpRoute>('HTTPRoute');
    const [gateway] = of<Gateway>('Gateway');
    for (const ref of route!.spec.parentRefs) {
      expect(ref.name).toBe(gateway!.metadata.name);
      if (ref.sectionName) expect(gateway!.spec.listeners.map((l) => l.name)).toContain(ref.sectionName);
    }
    expect(route!.spec.rules.flatMap((r) => r.matches)).toEqual([{ path: { type: 'PathPrefix', value: '/' } }]);
    const backends = route!.spec.rules.flatMap((r) => r.backendRefs);
    expect(backends.map((b) => b.name)).toEqual(['gateway']);
    const service = of<Service>('Service').find((s) => s.metadata.name === 'gateway')!;
    expect(service.spec.ports.map((p) => p.port)).toContain(backends[0]!.port);
    // A class the overlay chose, not the base's placeholder.
    expect(gateway!.spec.gatewayClassName).not.toBe('set-by-the-overlay');
  });

  it("only the Gateway's data plane may reach the gateway app's port", () => {
    const policies = of<KubeObject & { spec: { podSelector: object; ingress?: { from: unknown[]; ports: { port: number }[] }[] } }>(
      'NetworkPolicy',
    );
    expect(policies.find((p) => p.metadata.name === 'default-deny-ingress')?.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
    const toGateway = policies.filter((p) => JSON.stringify(p.spec.podSelector).includes('"app.kubernetes.io/name":"gateway"'));
    expect(toGateway.map((p) => p.spec.ingress)).toEqual([
      [
        {
          from: [
            {
              namespaceSelector: {},
              podSelector: { matchLabels: { 'gateway.networking.k8s.io/gateway-name': of('Gateway')[0]!.metadata.name } },
            },
          ],
          ports: [{ protocol: 'TCP', port: 4004 }],
        },
      ],
    ]);
  });

  if (overlay === 'prod') {
    it('prod: HTTPS only, for the public host, with its certificate; the route bound to that listener and host', () => {
      const [gateway] = of<Gateway>('Gateway');
      const [route] = of<HttpRoute>('HTTPRoute');
      expect(gateway!.spec.listeners).toEqual([
        expect.objectContaining({
          protocol: 'HTTPS',
          port: 443,
          hostname: 'api.caregrid.example',
          tls: { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', name: 'caregrid-tls' }] },
        }),
      ]);
      expect(route!.spec.hostnames).toEqual(['api.caregrid.example']);
      expect(route!.spec.parentRefs).toEqual([{ name: 'caregrid', sectionName: 'https' }]);
    });
  }
});

describe('the Gateway API schema check can fail', () => {
  const route = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'gateway' },
    spec: {
      parentRefs: [{ name: 'caregrid' }],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'gateway', port: 4004 }] }],
    },
  };

  it('accepts the minimal route, rejects an Ingress-style path type, a misspelt field and an out-of-range port', () => {
    expect(gatewayApi.validate(route)).toEqual([]);
    const ingressStyle = structuredClone(route);
    ingressStyle.spec.rules[0]!.matches[0]!.path.type = 'Prefix';
    expect(gatewayApi.validate(ingressStyle).join('\n')).toMatch(/allowed values/);
    const misspelt = structuredClone(route) as typeof route & { spec: Record<string, unknown> };
    misspelt.spec.parentRef = misspelt.spec.parentRefs;
    expect(gatewayApi.validate(misspelt).join('\n')).toMatch(/additional properties.*parentRef/);
    const badPort = structuredClone(route);
    badPort.spec.rules[0]!.backendRefs[0]!.port = 70000;
    expect(gatewayApi.validate(badPort).join('\n')).toMatch(/must be <= 65535/);
  });
});
