import type { Request } from 'express';
import { publicRequestUrl } from '../src/http.js';

const request = (headers: Record<string, string>, originalUrl = '/fhir/Patient?name=ann') =>
  ({ header: (name: string) => headers[name.toLowerCase()], protocol: 'http', originalUrl }) as unknown as Request;

describe('the public URL of a FHIR request', () => {
  it('is the gateway’s: the forwarded scheme and host (the first of those sidecars append), /api before the path', () => {
    const req = request({
      host: '127.0.0.1:3500',
      'x-forwarded-host': 'api.caregrid.example, 127.0.0.1:3500',
      'x-forwarded-proto': 'https, http',
    });
    expect(publicRequestUrl(req)).toBe('https://api.caregrid.example/api/fhir/Patient?name=ann');
  });

  it('keeps to a well-formed host and http(s), whatever the headers say', () => {
    expect(publicRequestUrl(request({ 'x-forwarded-host': 'evil.example/x?y', 'x-forwarded-proto': 'javascript' }))).toBe(
      'http://localhost/api/fhir/Patient?name=ann',
    );
    expect(publicRequestUrl(request({ host: '[::1]:4004' }))).toBe('http://[::1]:4004/api/fhir/Patient?name=ann');
  });
});
