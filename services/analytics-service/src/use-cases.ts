import type { AuditEntry, AuditPage, CloudEvent } from '@caregrid/contracts';
import { noteAccess, type Logger } from '@caregrid/platform';
import { APPOINTMENT_COUNTS, type AnalyticsStore } from './data/analytics-store.js';
import type { AuditQuery, AuditStore } from './data/audit-store.js';
import { retentionCutoff, trailEntryOf } from './domain/audit-trail.js';
import { countsByName, countsPerDay } from './domain/reports.js';

export type AuditSettings = { retentionDays: number };

/** The read models' store and the audit trail, as the use cases need them (MongoDB, or doubles in unit tests). */
export type AnalyticsPorts = {
  store: Pick<AnalyticsStore, keyof AnalyticsStore>;
  audit: Pick<AuditStore, keyof AuditStore>;
};

/** A report's time window, [from, to). */
export type Window = { from: Date; to: Date };

/**
 * The analytics use cases, one each, for every way in: the subscriptions (domain events and audit
 * entries, delivered or re-driven), the cron binding of retention, and the admin's reads.
 */
export function analyticsUseCases(deps: AnalyticsPorts & { auditTrail: AuditSettings; logger: Logger; now?: () => Date }) {
  const { store, audit, auditTrail, logger } = deps;
  const now = deps.now ?? (() => new Date());

  return {
    /** Domain events, each stored once by its id and applied to the read models; a redelivery changes nothing. */
    async recordEvents(events: CloudEvent<unknown>[]): Promise<void> {
      const fresh = await store.recordMany(
        events.map(({ id, type, time, data }) => ({ id, type, time, data: data as Record<string, unknown> })),
      );
      const again = fresh.filter((f) => !f).length;
      if (again > 0) logger.info({ again }, 'duplicate deliveries ignored');
    },

    /**
     * A batch of audit entries from the services' topics, each kept once, never changed, as the
     * publishing service's (trailEntryOf); an entry claiming another service is kept and its claim noted.
     */
    async recordAuditBatch(events: CloudEvent<unknown>[]): Promise<void> {
      const entries = events.map(trailEntryOf);
      for (const entry of entries.filter((e) => e.claimedService !== undefined)) {
        logger.warn(
          { entryId: entry.id, publisher: entry.service, claimed: entry.claimedService },
          'audit entry claims another service than the one that published it: kept as the publisher’s, its claim noted',
        );
      }
      const kept = await audit.appendMany(entries);
      const again = kept.filter((fresh) => !fresh).length;
      if (again > 0) logger.info({ again }, 'audit entries already kept; redeliveries ignored');
    },

    /** analytics-service's own entries (its reads of the trail), on its own chain in the trail. */
    recordOwnAccess(entries: AuditEntry[]): Promise<boolean[]> {
      return audit.appendOwn('analytics-service', entries);
    },

    /**
     * The trail, newest first. The read's own entry says whose trail was read: a search by patient,
     * that patient's (found or not); any other search, the patients its entries name.
     */
    async readAudit(query: AuditQuery): Promise<AuditPage> {
      if (query.patientId) noteAccess({ patientIds: [query.patientId] });
      const page = await audit.find(query);
      if (!query.patientId) noteAccess({ patientIds: page.items.flatMap((entry) => entry.patientIds) });
      return page;
    },

    /** Entries older than the retention period removed (the daily cron). */
    async applyRetention(): Promise<{ removed: number; cutoff: Date }> {
      const cutoff = retentionCutoff(now(), auditTrail.retentionDays);
      const removed = await audit.purgeOlderThan(cutoff);
      logger.info({ removed, cutoff }, 'audit retention applied');
      return { removed, cutoff };
    },

    /** Patients registered, appointments by outcome and revenue per currency, of events in the window. */
    async summary(window: Window) {
      const [patientsRegistered, counts, revenue] = await Promise.all([
        store.patientsRegistered(window.from, window.to),
        store.countByType(window.from, window.to, Object.values(APPOINTMENT_COUNTS)),
        store.revenue(window.from, window.to),
      ]);
      return { patientsRegistered, appointments: countsByName(APPOINTMENT_COUNTS, counts), revenue };
    },

    /** Appointment events per UTC day of the window. */
    async dailyAppointments(window: Window) {
      return countsPerDay(APPOINTMENT_COUNTS, await store.dailyAppointments(window.from, window.to));
    },

    /** Doctors ranked by appointments, or by revenue in one currency. */
    async topDoctors(by: 'appointments' | 'revenue', currency: string, limit: number) {
      const doctors = await store.topDoctors(by, currency, limit);
      return doctors.map((d) => ({
        doctorId: d._id,
        name: d.name,
        specialization: d.specialization,
        appointments: d.appointments ?? 0,
        revenue: d.revenue?.[currency] ?? 0,
      }));
    },

    specializations() {
      return store.specializations();
    },
  };
}

export type AnalyticsUseCases = ReturnType<typeof analyticsUseCases>;
