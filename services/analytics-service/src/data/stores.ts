import type { DatabaseOpener, OpenedDatabase } from '@caregrid/platform';
import { AUDIT_TRAIL_LAYOUT, checkLayout, mongoDatabase, type Db } from '@caregrid/platform/mongo';
import { prepareAnalytics } from './analytics-store.js';
import { moveLegacyTrail } from './audit-store.js';

/**
 * analytics-service's stores: its own database (read models, dead letters) and the audit trail,
 * reached through two logins of their own, so that nothing here can rewrite history: the writer
 * may only append and read, and only retention may remove entries (by age).
 */
export type AnalyticsStores = { db: Db; trail: AuditTrailLogins };
export type AuditTrailLogins = { writer: Db; retention: Db };

/** Opens the three, checks the trail's layout (made by its owner, not by us) and moves a trail left in the service's own database. */
export const openAnalyticsStores: DatabaseOpener<AnalyticsStores> = async (url, logger, secret) => {
  const { auditWriterUrl, auditRetentionUrl } = secret;
  if (!auditWriterUrl || !auditRetentionUrl) throw new Error('secret "analytics-service" needs auditWriterUrl and auditRetentionUrl');
  const trailStore = mongoDatabase((db) => checkLayout(db, AUDIT_TRAIL_LAYOUT));
  const opened: OpenedDatabase<Db>[] = [];
  try {
    opened.push(await mongoDatabase(prepareAnalytics)(url, logger));
    opened.push(await trailStore(auditWriterUrl, logger));
    opened.push(await trailStore(auditRetentionUrl, logger));
  } catch (error) {
    await Promise.all(opened.map((store) => store.close()));
    throw error;
  }
  const [own, writer, retention] = opened as [OpenedDatabase<Db>, OpenedDatabase<Db>, OpenedDatabase<Db>];
  await moveLegacyTrail(own.db, { writer: writer.db, retention: retention.db }, logger);
  return {
    db: { db: own.db, trail: { writer: writer.db, retention: retention.db } },
    check: () => Promise.all(opened.map((store) => store.check())),
    close: () => Promise.all(opened.map((store) => store.close())),
  };
};
