import type { Request } from 'express';
import { pino } from 'pino';
import { createServiceApp } from '../src/http/app.js';
import { canonicalJson, idempotencyKeyOf, requestFingerprint } from '../src/http/idempotency.js';
import { buildOpenApiDocument } from '../src/http/openapi.js';
import { ApiRouter } from '../src/http/routes.js';
import { InvalidInputError } from '../src/errors.js';
import { PUBLIC } from '../src/access/model.js';

const withKey = (value: string | undefined) => ({ header: (name: string) => (name === 'idempotency-key' ? value : undefined) }) as Request;

describe('the Idempotency-Key header', () => {
  it('is optional, and 1–255 printable ASCII characters (the draft’s quoted form too)', () => {
    expect(idempotencyKeyOf(withKey(undefined))).toBeUndefined();
    expect(idempotencyKeyOf(withKey('8e03978e-40d5-43e8-bc93-6894a57f9324'))).toBe('8e03978e-40d5-43e8-bc93-6894a57f9324');
    expect(idempotencyKeyOf(withKey('"retry 1"'))).toBe('retry 1');
    expect(idempotencyKeyOf(withKey('k'.repeat(255)))).toHaveLength(255);
    for (const bad of ['', 'k'.repeat(256), 'clé', 'tab\there', '""']) {
      expect(() => idempotencyKeyOf(withKey(bad))).toThrow(InvalidInputError);
    }
  });
});

describe('what makes two requests the same', () => {
  it('the body, whatever the order of its keys', () => {
    expect(canonicalJson({ b: [2, { d: 1, c: null }], a: 'x' })).toBe('{"a":"x","b":[2,{"c":null,"d":1}]}');
    const one = requestFingerprint('POST', '/appointments', { patientId: 'p', start: 's' });
    expect(requestFingerprint('post', '/appointments', { start: 's', patientId: 'p' })).toBe(one);
  });

  it('and the method and path: another body, appointment or route is another request', () => {
    const pay = (id: string, amount: number) => requestFingerprint('POST', `/appointments/${id}/payment`, { method: 'cash', amount });
    expect(pay('a', 5000)).not.toBe(pay('a', 5001));
    expect(pay('a', 5000)).not.toBe(pay('b', 5000));
    expect(requestFingerprint('POST', '/patients', {})).not.toBe(requestFingerprint('POST', '/appointments', {}));
  });
});

describe('routes that take a key', () => {
  const router = () =>
    new ApiRouter({ 'POST /things': PUBLIC, 'PUT /things': PUBLIC }).add({
      method: 'post',
      path: '/things',
      summary: 'Create a thing',
      idempotent: true,
      responses: { 201: { description: 'Created' }, 409: { description: 'Duplicate' } },
      handler: () => undefined,
    });

  it('are POSTs only, and need a store in the app', () => {
    expect(() =>
      router().add({ method: 'put', path: '/things', summary: 'Replace', idempotent: true, responses: {}, handler: () => undefined }),
    ).toThrow(/only a POST/);
    expect(() => createServiceApp({ service: 'things', deps: { logger: pino({ level: 'silent' }) }, json: router() })).toThrow(
      /no idempotency store/,
    );
  });

  it('document the header, the replay marker and the answers a key adds', () => {
    const operation = buildOpenApiDocument({ title: 't', version: '1' }, router().routes).paths['/things']!.post as {
      parameters: { name: string; in: string; required: boolean }[];
      responses: Record<string, { description: string; headers?: Record<string, unknown> }>;
    };
    expect(operation.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false }));
    expect(operation.responses['201']!.headers).toHaveProperty('Idempotent-Replayed');
    expect(operation.responses['409']!.description).toMatch(/^Duplicate; or a request with this Idempotency-Key is still being processed/);
    expect(operation.responses['422']!.description).toMatch(/idempotency-key-reused/);
    expect(operation.responses['400']!.description).toMatch(/Idempotency-Key/);
  });
});
