/**
 * Where each subscriber's sidecar delivers each appointment event (dapr/resources/subscriptions.yaml,
 * rules by CloudEvent type, else the default route): a route its app serves, and for a move
 * (appointment.rescheduled) the one chosen for it — analytics keeps it, billing and patient-service
 * acknowledge and ignore it. No appointment event is left to a route that would drop it to a
 * dead-letter topic for being unknown.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { appointmentRescheduled, eventContractsOf, Topics } from '@caregrid/contracts';
import { ENDPOINTS, SIDECAR } from '@caregrid/platform';

type Subscription = {
  kind: string;
  scopes: string[];
  spec: { topic: string; routes: { rules?: { match: string; path: string }[]; default: string } };
};

/** The delivery routes each app serves: its sidecar-only POSTs (access-endpoints.test.ts pins the table to the routers). */
const served = (app: string) =>
  Object.entries(ENDPOINTS[app] ?? {})
    .filter(([key, access]) => access === SIDECAR && key.startsWith('POST '))
    .map(([key]) => key.slice('POST '.length));

const appointmentSubscriptions = parseAllDocuments(
  readFileSync(new URL('../../dapr/resources/subscriptions.yaml', import.meta.url), 'utf8'),
)
  .map((doc) => doc.toJS() as Subscription)
  .filter((s) => s.kind === 'Subscription' && s.spec.topic === Topics.appointments);

/** The route daprd picks for an event of this type (our rules only ever match on the type). */
const routeOf = (s: Subscription, type: string) =>
  s.spec.routes.rules?.find((rule) => rule.match === `event.type == "${type}"`)?.path ?? s.spec.routes.default;

describe('appointment events reach a route of each subscriber', () => {
  it('every appointment event type lands on a route its subscriber serves', () => {
    const landing = appointmentSubscriptions.flatMap((s) =>
      s.scopes.flatMap((app) =>
        eventContractsOf([Topics.appointments]).map((c) => [app, c.type, served(app).includes(routeOf(s, c.type))]),
      ),
    );
    expect(landing.filter(([, , ok]) => !ok)).toEqual([]);
  });

  it('a move: analytics keeps it, notification-service reschedules the reminder, billing and patient-service acknowledge and ignore it', () => {
    const routes = Object.fromEntries(
      appointmentSubscriptions.flatMap((s) => s.scopes.map((app) => [app, routeOf(s, appointmentRescheduled.type)])),
    );
    expect(routes).toEqual({
      'analytics-service': '/events/record',
      'billing-service': '/events/ignored',
      'notification-service': '/events/appointment-rescheduled',
      'patient-service': '/events/ignored',
    });
  });
});
