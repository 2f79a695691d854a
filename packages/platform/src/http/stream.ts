import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import type { Response } from 'express';
import { recordAccessNow } from '../audit/trail.js';
import type { Logger } from '../logger.js';

/**
 * Streams a body (e.g. a file from a binding) to the client. A source that
 * breaks mid-way (its sidecar reset, say) ends this response only — cut short,
 * so the client sees an incomplete download — and never the process: an
 * unhandled stream 'error' would take the whole service down.
 */
export async function sendStream(res: Response, body: ReadableStream<Uint8Array>, logger: Logger, what: string): Promise<void> {
  // A streamed answer cannot be held at its end: its audit entry is written before the first byte.
  await recordAccessNow();
  try {
    await pipeline(Readable.fromWeb(body), res);
  } catch (error) {
    logger.warn({ err: error, what }, 'stream to the client broke off');
    res.destroy();
  }
}
