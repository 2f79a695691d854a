import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { probeReadiness, rotationAfterProbe, TIMEOUTS_BEFORE_OUT } from '../src/readiness.js';

describe('rotationAfterProbe', () => {
  it('takes a draining or unreachable instance out at once', () => {
    expect(rotationAfterProbe('not-ready', 0)).toEqual({ ready: false, timeoutsInARow: 0 });
    expect(rotationAfterProbe('refused', 0)).toEqual({ ready: false, timeoutsInARow: 0 });
  });

  it('leaves an instance as it is after one slow probe, and takes it out after slow ones in a row', () => {
    let timeouts = 0;
    const verdicts: (boolean | undefined)[] = [];
    for (let probe = 0; probe < TIMEOUTS_BEFORE_OUT; probe++) {
      const verdict = rotationAfterProbe('timeout', timeouts);
      timeouts = verdict.timeoutsInARow;
      verdicts.push(verdict.ready);
    }
    expect(verdicts).toEqual([...Array(TIMEOUTS_BEFORE_OUT - 1).fill(undefined), false]);
  });

  it('forgets a slow probe once an answer comes in time', () => {
    const slow = rotationAfterProbe('timeout', 0);
    expect(rotationAfterProbe('ready', slow.timeoutsInARow)).toEqual({ ready: true, timeoutsInARow: 0 });
    expect(rotationAfterProbe('timeout', 0).ready).toBeUndefined();
  });
});

describe('probeReadiness', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/slow') setTimeout(() => res.end('late'), 500);
      else if (req.url === '/draining') res.writeHead(503).end();
      else res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('tells a 200, another status, a slow answer and a closed port apart', async () => {
    expect(await probeReadiness(`${base}/ready`, 1_000)).toBe('ready');
    expect(await probeReadiness(`${base}/draining`, 1_000)).toBe('not-ready');
    expect(await probeReadiness(`${base}/slow`, 100)).toBe('timeout');
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await probeReadiness(`http://127.0.0.1:${port}/readyz`, 1_000)).toBe('refused');
  });
});
