/**
 * The floors every gateway figure is held against, measured in the same run on
 * the same cores: a trivial Node http app direct; the same behind two sidecars
 * (a caller daprd invoking the app's daprd by app-id, mTLS on); and behind two
 * sidecars with the gateway's JWT middleware (its real OPA policy, keys inlined).
 */
import { createServer } from 'node:http';
import { freePort, renderPolicyComponent } from '@caregrid/devkit';
import { loadNote, measure, type LoadSettings } from './load.js';
import type { Figure } from './report.js';
import { benchSigningKey, invokeDoctorsPath, sidecarLab } from './sidecars.js';

export type Floors = { direct: number; sidecars: number; sidecarsJwt: number };

export async function measureFloors(load: LoadSettings, progress: (line: string) => void): Promise<{ floors: Floors; figures: Figure[] }> {
  const lab = sidecarLab('floors');
  const appPort = await freePort();
  const body = JSON.stringify({ items: [], nextCursor: null });
  // Registered as doctor-service: GET /doctors is a route every role may call through the policy.
  const app = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  }).listen(appPort, '127.0.0.1');
  try {
    progress('floors: starting the trivial app, its sidecar and two caller sidecars (plain, JWT policy)');
    const key = await benchSigningKey();
    await lab.sidecar('doctor-service', lab.calleeConfig('callee', ['gateway', 'gateway-plain']), lab.resources('callee'), appPort);
    const callerPort = await freePort(); // nothing listens: the caller sidecars are called directly
    const plain = await lab.sidecar('gateway-plain', lab.config('plain', false), lab.resources('plain'), callerPort);
    const jwt = await lab.sidecar('gateway', lab.config('jwt', true), lab.resources('jwt', renderPolicyComponent(key.jwks)), callerPort);
    const unauthenticated = (await fetch(`http://127.0.0.1:${jwt.httpPort}${invokeDoctorsPath}`)).status;
    if (unauthenticated !== 401) throw new Error(`the JWT floor's policy is not in force: no token got ${unauthenticated}`);
    const headers = { authorization: `Bearer ${await key.token(['admin'])}` };

    progress('floors: trivial app direct');
    const direct = await measure({ url: `http://127.0.0.1:${appPort}/doctors` }, load);
    progress('floors: trivial app behind two sidecars');
    const sidecars = await measure({ url: `http://127.0.0.1:${plain.httpPort}${invokeDoctorsPath}` }, load);
    progress('floors: trivial app behind two sidecars + the JWT policy');
    const sidecarsJwt = await measure({ url: `http://127.0.0.1:${jwt.httpPort}${invokeDoctorsPath}`, headers }, load);

    const floors = { direct: direct.rps, sidecars: sidecars.rps, sidecarsJwt: sidecarsJwt.rps };
    const figures: Figure[] = [
      { id: 'floor.direct', label: 'floor: trivial app direct', value: direct.rps, unit: 'req/s', note: loadNote(direct) },
      {
        id: 'floor.sidecars',
        label: 'floor: trivial app behind 2 sidecars',
        value: sidecars.rps,
        unit: 'req/s',
        reference: { label: 'app direct', value: direct.rps },
        note: loadNote(sidecars),
      },
      {
        id: 'floor.sidecarsJwt',
        label: 'floor: trivial app behind 2 sidecars + JWT policy',
        value: sidecarsJwt.rps,
        unit: 'req/s',
        reference: { label: '2 sidecars (goal ≥ 0.85)', value: sidecars.rps },
        note: loadNote(sidecarsJwt),
      },
    ];
    return { floors, figures };
  } finally {
    await lab.stop();
    app.close();
  }
}
