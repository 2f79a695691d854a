import { fhirApi } from '@caregrid/fhir/http';
import { createServiceApp, DaprJobs, type JobRetry, type ServiceAppDependencies, type Sidecar } from '@caregrid/platform';
import { pgDeadLetterStore, type Pool } from '@caregrid/platform/postgres';
import { mailerOver } from './data/mailer.js';
import { NoticeRepository } from './data/notice-repository.js';
import { peersOver } from './data/peers.js';
import type { ClinicSettings } from './domain/mail.js';
import { subscriptions } from './events/subscriptions.js';
import { notificationFhirRoutes } from './http/fhir-routes.js';
import { jobRoutes } from './http/job-routes.js';
import { notificationRoutes } from './http/routes.js';
import { NoticeSender, type SenderSettings } from './sender.js';
import { notificationUseCases, type ReminderSettings } from './use-cases.js';

export type NotificationSettings = {
  clinic: ClinicSettings;
  reminders: ReminderSettings;
  /** How the scheduler re-delivers a reminder job the app did not take. */
  reminderJobRetry: JobRetry;
  sender: SenderSettings;
  mailBinding: string;
};

export function createApp(deps: ServiceAppDependencies<Pool> & { sidecar: Sidecar; settings: NotificationSettings }) {
  const notices = new NoticeRepository(deps.db);
  const peers = peersOver(deps.sidecar);
  const sender = new NoticeSender({
    notices,
    peers,
    mailer: mailerOver(deps.sidecar, deps.settings.mailBinding),
    clinic: deps.settings.clinic,
    settings: deps.settings.sender,
    logger: deps.logger,
    isShuttingDown: deps.isShuttingDown,
  });
  const notifications = notificationUseCases({
    notices,
    jobs: new DaprJobs(deps.sidecar.options.httpPort, deps.settings.reminderJobRetry),
    peers,
    reminders: deps.settings.reminders,
    logger: deps.logger,
    onPending: () => sender.kick(),
  });
  sender.start();
  return createServiceApp({
    service: 'notification-service',
    deps,
    json: [notificationRoutes(notifications), jobRoutes({ notifications, logger: deps.logger })],
    fhir: fhirApi(notificationFhirRoutes(notifications)),
    subscriptions: subscriptions({ notifications, deadLetters: pgDeadLetterStore(deps.db), logger: deps.logger }),
  });
}
