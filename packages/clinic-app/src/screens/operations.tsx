/**
 * Admin: what waits in each service — events not yet published or parked in its outbox, dead
 * letters parked by its subscriptions — and a bulk re-drive of a service's parked letters once
 * their cause is fixed. A healthy clinic shows zeros; README "Failure modes" says what to do
 * when it does not.
 */
import type { ServiceBacklog } from '@caregrid/contracts';
import { api } from '../api.js';
import { Loading, Outcome, useAction, useLoad } from '../ui.js';

const SERVICES = ['auth-service', 'patient-service', 'doctor-service', 'appointment-service', 'billing-service', 'analytics-service'];

/** "3 min" from an instant: how long the oldest item has waited. */
export function ageOf(at: string | null, now = Date.now()): string {
  if (!at) return '—';
  const seconds = Math.max(0, Math.round((now - Date.parse(at)) / 1000));
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7_200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3_600)} h`;
}

export function Operations() {
  const backlogs = useLoad(
    () =>
      Promise.all(
        SERVICES.map((service) =>
          api<ServiceBacklog>('GET', `/ops/${service}/backlog`).catch(() => ({ service, unavailable: true as const })),
        ),
      ),
    [],
  );
  const redrive = useAction();
  return (
    <section aria-labelledby="operations-heading">
      <h2 id="operations-heading">Operations</h2>
      <p class="muted">
        Events wait in a service’s outbox until the broker takes them, and a subscriber parks what it could not apply (dead letters); both
        drain by themselves. Numbers that stay above zero for minutes, or any poison letter, need a look: see the README’s “Failure modes”.
      </p>
      <button type="button" onClick={backlogs.reload} disabled={backlogs.loading}>
        Refresh
      </button>
      <Loading loading={backlogs.loading} error={backlogs.error} />
      <Outcome outcome={redrive.outcome} />
      {backlogs.data && (
        <div class="table-wrap">
          <table>
            <caption>Backlog per service</caption>
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">Outbox: waiting</th>
                <th scope="col">Outbox: parked</th>
                <th scope="col">Oldest waiting</th>
                <th scope="col">Dead letters</th>
                <th scope="col">Poison</th>
                <th scope="col">Oldest parked</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {backlogs.data.map((b) =>
                'unavailable' in b ? (
                  <tr key={b.service}>
                    <th scope="row">{b.service}</th>
                    <td colSpan={7}>not answering</td>
                  </tr>
                ) : (
                  <tr key={b.service}>
                    <th scope="row">{b.service}</th>
                    <td>{b.outbox?.pending ?? '—'}</td>
                    <td>{b.outbox?.parked ?? '—'}</td>
                    <td>{ageOf(b.outbox?.oldestPendingAt ?? null)}</td>
                    <td>{b.deadLetters?.parked ?? '—'}</td>
                    <td>{b.deadLetters?.poison ?? '—'}</td>
                    <td>{ageOf(b.deadLetters?.oldestParkedAt ?? null)}</td>
                    <td>
                      {b.deadLetters && b.deadLetters.parked > 0 && (
                        <button
                          type="button"
                          disabled={redrive.busy}
                          onClick={() =>
                            redrive.run(async () => {
                              const { scheduled } = await api<{ scheduled: number }>('POST', `/ops/${b.service}/dead-letters/redrive`, {});
                              backlogs.reload();
                              return `${b.service}: ${scheduled} dead letters re-driven`;
                            })
                          }
                        >
                          Re-drive all
                        </button>
                      )}
                    </td>
                  </tr>
                ),
              )}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
