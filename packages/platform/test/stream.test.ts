import type { AddressInfo } from 'node:net';
import { ReadableStream } from 'node:stream/web';
import express from 'express';
import { pino } from 'pino';
import { sendStream } from '../src/http/stream.js';

/** A body that sends one chunk, then breaks — as a binding's stream does when its sidecar resets. */
const breaksMidway = () =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('%PDF-1.7 first part'));
      setTimeout(() => controller.error(new Error('connection reset by the sidecar')), 20);
    },
  });

describe('sendStream', () => {
  it('a source that breaks mid-way cuts that response short and leaves the server serving', async () => {
    const app = express();
    app.get('/broken', async (_req, res) => {
      res.type('application/pdf');
      await sendStream(res, breaksMidway(), pino({ level: 'silent' }), 'test.pdf');
    });
    app.get('/ok', (_req, res) => res.send('still here'));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const response = await fetch(`${base}/broken`);
      expect(response.status).toBe(200);
      // The client sees an incomplete download, not a complete file.
      await expect(response.arrayBuffer()).rejects.toThrow();
      expect(await (await fetch(`${base}/ok`)).text()).toBe('still here');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
