import type { Role } from '@caregrid/contracts';
import { mayAttempt, type Caller } from '../src/access/check.js';
import { gatewayPolicyIndex, gatewayPolicyTables, isClientRoute, pathPattern, rolesFor } from '../src/access/gateway-policy.js';
import { ACCESS_MATRIX, ENDPOINTS, isPermission, type Matrix, type Permission } from '../src/access/model.js';

/** The gateway's policy tables (the sidecars' ACL: test/unit/dapr-acl.test.ts). */
const user = (roles: Role[], links: { patientId?: string } = {}): Caller => ({
  kind: 'user',
  userId: `u-${roles.join('-')}`,
  roles,
  ...links,
});
const patientP = user(['patient'], { patientId: 'p1' });

describe('the gateway policy is derived from the same model', () => {
  const { routes, publicRoutes } = gatewayPolicyTables();

  it('every role-protected endpoint is in the policy with exactly the roles the service admits', () => {
    for (const [app, table] of Object.entries(ENDPOINTS)) {
      for (const [key, access] of Object.entries(table)) {
        if (!isPermission(access)) continue;
        const [method, path] = key.split(' ') as [string, string];
        const route = routes.find((r) => r.app === app && r.methods.includes(method) && r.path === pathPattern(path));
        for (const role of ['admin', 'receptionist', 'doctor', 'patient'] as const) {
          const serviceAdmits = mayAttempt(user([role]), access);
          expect({ key, role, policy: route?.roles.includes(role) ?? false }).toEqual({ key, role, policy: serviceAdmits });
        }
      }
    }
  });

  it('changing one cell of the matrix changes both the policy and the service check', () => {
    const changed = structuredClone(ACCESS_MATRIX) as Matrix;
    changed.appointment.pay.patient = 'own';
    const pay: Permission = { resource: 'appointment', actions: ['pay'] };
    const payRoute = (matrix: Matrix) =>
      gatewayPolicyTables(matrix).routes.find(
        (r) => r.app === 'appointment-service' && r.path === pathPattern('/appointments/:id/payment'),
      );
    expect(payRoute(ACCESS_MATRIX)?.roles).not.toContain('patient');
    expect(payRoute(changed)?.roles).toContain('patient');
    expect(mayAttempt(patientP, pay, ACCESS_MATRIX)).toBe(false);
    expect(mayAttempt(patientP, pay, changed)).toBe(true);
    expect(rolesFor(pay, changed)).toEqual(['admin', 'receptionist', 'patient']);
  });

  it('sidecar-only routes are neither role routes nor public, and not client routes', () => {
    const all = [...routes, ...publicRoutes];
    expect(all.some((r) => r.path.includes('events'))).toBe(false);
    expect(all.some((r) => r.path.includes('appointment-cleanup'))).toBe(false);
    expect(isClientRoute('billing-service', 'post', '/events/appointment-paid')).toBe(false);
    expect(isClientRoute('billing-service', 'get', '/invoices/:id/pdf')).toBe(true);
    expect(publicRoutes.map((r) => r.path)).toContain('^/\\.well-known/jwks\\.json$');
  });

  it('the rendered index (app-id → method → routes) holds exactly the tables, roles as keys', () => {
    const index = gatewayPolicyIndex();
    const fromIndex = Object.entries(index.routes).flatMap(([app, byMethod]) =>
      Object.entries(byMethod).flatMap(([method, list]) =>
        list.map((r) => ({ app, methods: [method], path: r.path, roles: Object.keys(r.roles) })),
      ),
    );
    const sortKey = (r: { app: string; methods: string[]; path: string }) => `${r.app} ${r.methods.join()} ${r.path}`;
    expect(fromIndex.sort((a, b) => sortKey(a).localeCompare(sortKey(b)))).toEqual(
      [...routes].sort((a, b) => sortKey(a).localeCompare(sortKey(b))),
    );
    expect(
      Object.values(index.publicRoutes)
        .flatMap((byMethod) => Object.values(byMethod).flat())
        .sort(),
    ).toEqual(publicRoutes.map((r) => r.path).sort());
    expect(
      index.routes['appointment-service']?.POST?.find((r) => r.path === pathPattern('/appointments/:id/payment'))?.roles,
    ).not.toHaveProperty('patient');
  });

  it('path patterns match exactly one segment per parameter', () => {
    const pattern = new RegExp(pathPattern('/invoices/:id/pdf'));
    expect(pattern.test('/invoices/abc/pdf')).toBe(true);
    expect(pattern.test('/invoices/a/b/pdf')).toBe(false);
    expect(pattern.test('/invoices/abc/pdfx')).toBe(false);
  });
});
