/**
 * How much the gateway's JWT check costs, and why the public keys are inlined
 * in the policy: the same ES256 token through a gateway sidecar whose OPA
 * policy (a) has the JWKS inlined (what CareGrid renders), (b) fetches it with
 * http.send on every request (the OPA middleware keeps no cache between
 * requests), and (c) with no JWT middleware at all. All three call the same
 * stub app by Dapr invocation, measured in the same run; figures are ratios.
 *
 *   npm run bench:jwt        (infrastructure must be up: npm run infra:up)
 */
import express from 'express';
import { freePort, renderPolicyComponent } from '@caregrid/devkit';
import { benchSigningKey, invokeDoctorsPath, sidecarLab } from './sidecars.js';

const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 5) * 1000;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const lab = sidecarLab('jwt');

// A stub callee registered as doctor-service (a route every role may GET), serving the JWKS too.
const key = await benchSigningKey();
const calleePort = await freePort();
let jwksFetches = 0;
const callee = express()
  .get('/doctors', (_req, res) => res.json({ items: [], nextCursor: null }))
  .get('/jwks', (_req, res) => {
    jwksFetches++;
    res.json(key.jwks);
  })
  .get('/healthz', (_req, res) => res.json({ status: 'ok' }))
  .listen(calleePort, '127.0.0.1');

const inlined = renderPolicyComponent(key.jwks);
const fetching = inlined
  .replace(
    /jwks := `[^`]*`/,
    `jwks := http.send({"method": "GET", "url": "http://127.0.0.1:${calleePort}/jwks", "force_cache": true, "force_cache_duration_seconds": 300}).raw_body`,
  )
  .replace(/- gateway$/m, '- gateway-fetch'); // the component's scope: this variant's app-id

await lab.sidecar(
  'doctor-service',
  lab.calleeConfig('callee', ['gateway', 'gateway-fetch', 'gateway-plain']),
  lab.resources('callee'),
  calleePort,
);
const gatewayPort = await freePort(); // nothing listens: the gateway sidecars are called directly
const variants = {
  'JWKS inlined in the policy (CareGrid)': await lab.sidecar(
    'gateway',
    lab.config('inline', true),
    lab.resources('inline', inlined),
    gatewayPort,
  ),
  'JWKS fetched per request (http.send)': await lab.sidecar(
    'gateway-fetch',
    lab.config('fetch', true),
    lab.resources('fetch', fetching),
    gatewayPort,
  ),
  'no JWT middleware (baseline)': await lab.sidecar('gateway-plain', lab.config('plain', false), lab.resources('plain'), gatewayPort),
};

const token = await key.token(['admin']);

async function load(port: number): Promise<{ rps: number; failures: number; requests: number }> {
  const url = `http://127.0.0.1:${port}${invokeDoctorsPath}`;
  const headers = { authorization: `Bearer ${token}` };
  let done = 0;
  let failures = 0;
  const deadline = Date.now() + DURATION_MS;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < deadline) {
        const response = await fetch(url, { headers });
        await response.arrayBuffer();
        if (response.status === 200) done++;
        else failures++;
      }
    }),
  );
  return { rps: done / ((Date.now() - started) / 1000), failures, requests: done + failures };
}

// A request without a token must be refused by both JWT variants, or the comparison means nothing.
for (const [name, variant] of Object.entries(variants).slice(0, 2)) {
  const status = (await fetch(`http://127.0.0.1:${variant.httpPort}${invokeDoctorsPath}`)).status;
  if (status !== 401) throw new Error(`${name}: a request without a token got ${status}, not 401 — the policy is not in force`);
}

try {
  // Interleaved rounds, so drift of the machine over the run hits every variant alike.
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
  const totals = new Map<string, { done: number; seconds: number; failures: number; fetches: number; requests: number }>();
  for (const variant of Object.values(variants)) await load(variant.httpPort); // warm-up, discarded
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, variant] of Object.entries(variants)) {
      const fetchesBefore = jwksFetches;
      const { rps, failures, requests } = await load(variant.httpPort);
      const total = totals.get(name) ?? { done: 0, seconds: 0, failures: 0, fetches: 0, requests: 0 };
      total.done += rps * (DURATION_MS / 1000);
      total.seconds += DURATION_MS / 1000;
      total.failures += failures;
      total.requests += requests;
      total.fetches += jwksFetches - fetchesBefore;
      totals.set(name, total);
    }
  }
  const results = [...totals].map(
    ([name, t]) => [name, { rps: t.done / t.seconds, failures: t.failures, fetches: t.fetches, requests: t.requests }] as const,
  );
  const reference = results[0]![1].rps;
  console.log(
    `\n${CONCURRENCY} concurrent clients, ${ROUNDS} interleaved rounds of ${DURATION_MS / 1000} s, ES256 token, gateway sidecar → callee sidecar → app\n`,
  );
  for (const [name, { rps, failures, fetches, requests }] of results) {
    const extra = [failures ? `${failures} non-200` : '', fetches ? `${(fetches / requests).toFixed(2)} JWKS fetches per request` : '']
      .filter(Boolean)
      .join(', ');
    console.log(
      `${name.padEnd(40)} ${rps.toFixed(0).padStart(7)} req/s   ${(rps / reference).toFixed(2)}× inlined${extra ? `   (${extra})` : ''}`,
    );
  }
} finally {
  await lab.stop();
  callee.close();
}
