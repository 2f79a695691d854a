import type { AccountMailRequested, AppointmentSnapshot } from '@caregrid/contracts';
import {
  authorize,
  ForbiddenError,
  InvalidInputError,
  may,
  narrow,
  RuleViolationError,
  seesNothing,
  type Caller,
  type DaprJobs,
  type Logger,
  type Page,
} from '@caregrid/platform';
import type { AppointmentFacts, NoticeFilter, NoticeRepository, NoticeSearch } from './data/notice-repository.js';
import type { Peers } from './data/peers.js';
import { reminderDue, reminderJobName, type AnyNotice, type Notice, type ReminderJobData } from './domain/notice.js';

export type ReminderSettings = { leadMs: number };

/** What became of a fired reminder job (the job route's answer, and the log's). */
export type ReminderOutcome =
  { outcome: 'enqueued'; noticeId: string } | { outcome: 'skipped'; reason: string } | { outcome: 'ignored'; reason: string };

const factsOf = (event: AppointmentSnapshot): AppointmentFacts => ({
  appointmentId: event.appointmentId,
  patientId: event.patientId,
  doctorId: event.doctorId,
  version: event.version,
  start: event.start,
});

/**
 * The notification use cases: appointment events enqueue notices (and schedule, replace or
 * delete the reminder's Dapr job), an account mail request enqueues its mail, a fired job enqueues its reminder when it still holds, the
 * sweep brings back jobs gone missing, and the JSON routes read the ledger, set preferences and
 * re-send. Sending itself is the sender's (sender.ts).
 */
export function notificationUseCases(deps: {
  notices: NoticeRepository;
  jobs: DaprJobs;
  peers: Peers;
  reminders: ReminderSettings;
  logger: Logger;
  /** Wakes the sender after notices became pending. */
  onPending: () => void;
  now?: () => Date;
}) {
  const { notices, jobs, peers, logger, onPending } = deps;
  const now = deps.now ?? (() => new Date());

  /** The reminder of this version after the ledger's commit: its job scheduled (replacing an older one), or none. */
  async function syncReminderJob(appointmentId: string, reminder: Notice | undefined): Promise<void> {
    const name = reminderJobName(appointmentId);
    if (reminder?.status === 'scheduled' && reminder.dueAt) {
      const data: ReminderJobData = { appointmentId, version: reminder.version };
      await jobs.schedule(name, new Date(reminder.dueAt), data);
    } else {
      await jobs.delete(name);
    }
  }

  /** A new time (booked, or moved): its confirmation, and its reminder when there is time for one. */
  async function announce(event: AppointmentSnapshot, reason: string): Promise<void> {
    const facts = factsOf(event);
    const result = await notices.inAppointment(event.appointmentId, async (ledger, known) => {
      // An older event delivered late (a re-drive) must not bring back a reminder for a time that no longer holds.
      if (known.cancelled || known.latestVersion > facts.version) return { stale: true as const };
      await ledger.skipOlder(facts.version, reason);
      await ledger.add(facts, { kind: 'confirmation' });
      const due = reminderDue(new Date(facts.start), deps.reminders.leadMs, now());
      const reminder = due
        ? await ledger.add(facts, { kind: 'reminder', dueAt: due, jobName: reminderJobName(facts.appointmentId) })
        : undefined;
      return { stale: false as const, reminder };
    });
    if (result.stale) {
      logger.info({ appointmentId: event.appointmentId, version: event.version }, 'older appointment event: nothing to announce');
      return;
    }
    onPending();
    // After the commit: a scheduler that is down makes the delivery come again, and the ledger makes that harmless.
    await syncReminderJob(event.appointmentId, result.reminder);
  }

  return {
    booked: (event: AppointmentSnapshot) => announce(event, 'superseded by a newer booking'),

    rescheduled: (event: AppointmentSnapshot) => announce(event, 'the appointment moved'),

    async cancelled(event: AppointmentSnapshot): Promise<void> {
      await notices.inAppointment(event.appointmentId, async (ledger) => {
        await ledger.skipScheduled('the appointment was cancelled');
        await ledger.add(factsOf(event), { kind: 'cancellation' });
      });
      onPending();
      await jobs.delete(reminderJobName(event.appointmentId));
    },

    async paid(event: AppointmentSnapshot): Promise<void> {
      await notices.inAppointment(event.appointmentId, (ledger) => ledger.add(factsOf(event), { kind: 'receipt' }));
      onPending();
    },

    /** auth-service asked for an account mail: one notice per request, however often the event comes. */
    async accountMailRequested(request: AccountMailRequested): Promise<void> {
      if (await notices.addAccountMail(request)) onPending();
    },

    /**
     * A reminder job fired (at least once: the scheduler may deliver again). The appointment is
     * read again from its owner: only a reminder for a time that still holds, of a patient who
     * wants reminders, is enqueued, and only the first delivery does it.
     */
    async reminderFired(appointmentId: string, data: ReminderJobData): Promise<ReminderOutcome> {
      if (data.appointmentId !== appointmentId) return { outcome: 'ignored', reason: 'the job data names another appointment' };
      const reminder = await notices.find(appointmentId, 'reminder', data.version);
      if (!reminder) return { outcome: 'ignored', reason: 'no reminder of this appointment and version in the ledger' };
      if (reminder.status !== 'scheduled') return { outcome: 'ignored', reason: `the reminder is ${reminder.status} already` };
      const appointment = await peers.appointment(appointmentId);
      const stale = !appointment
        ? 'the appointment no longer exists'
        : appointment.status !== 'booked'
          ? `the appointment is ${appointment.status}`
          : (appointment.version !== undefined && appointment.version !== data.version) ||
              new Date(appointment.start).getTime() !== new Date(reminder.appointmentStart).getTime()
            ? 'the appointment moved'
            : !(await notices.remindersWanted(reminder.patientId))
              ? 'the patient turned reminders off'
              : undefined;
      const settled = await notices.settleReminder(reminder.id, stale ? { status: 'skipped', reason: stale } : { status: 'pending' });
      if (!settled) return { outcome: 'ignored', reason: 'settled by an earlier delivery of the job' };
      if (stale) return { outcome: 'skipped', reason: stale };
      onPending();
      return { outcome: 'enqueued', noticeId: reminder.id };
    },

    /**
     * The daily sweep: every reminder still waiting whose job the scheduler no longer has is
     * scheduled again (due at once when its time has passed); one whose appointment has started
     * is skipped. Answers how many jobs came back.
     */
    async sweepReminders(): Promise<{ checked: number; rescheduled: number; skipped: number }> {
      const counts = { checked: 0, rescheduled: 0, skipped: 0 };
      let after: { dueAt: string; id: string } | undefined;
      for (;;) {
        const page = await notices.scheduledReminders(100, after);
        if (page.length === 0) return counts;
        for (const reminder of page) {
          counts.checked++;
          if (new Date(reminder.appointmentStart) <= now()) {
            if (
              await notices.settleReminder(reminder.id, {
                status: 'skipped',
                reason: 'the appointment started before its reminder was sent',
              })
            )
              counts.skipped++;
            continue;
          }
          const name = reminder.jobName ?? reminderJobName(reminder.appointmentId);
          if (await jobs.get(name)) continue;
          const due = new Date(Math.max(new Date(reminder.dueAt ?? reminder.appointmentStart).getTime(), now().getTime() + 1_000));
          await jobs.schedule(name, due, { appointmentId: reminder.appointmentId, version: reminder.version } satisfies ReminderJobData);
          counts.rescheduled++;
          logger.warn({ appointmentId: reminder.appointmentId, job: name }, 'reminder job was missing: scheduled again');
        }
        const last = page[page.length - 1]!;
        after = { dueAt: last.dueAt!, id: last.id };
      }
    },

    /** The ledger within what the caller may see (a patient: notices of their own appointments). */
    async list(caller: Caller, filter: NoticeFilter): Promise<Page<Notice>> {
      const scope = narrow(caller, 'notification');
      if (seesNothing(scope)) return { items: [], nextCursor: null };
      return notices.list(filter, scope);
    },

    /** One notice, if the caller may see it (the FHIR reads): as in the ledger's list, a patient's own, a doctor's; another's is absent. */
    async readNotice(caller: Caller, id: string): Promise<Notice> {
      const notice = await notices.get(id);
      authorize(caller, 'notification', 'list', notice);
      return notice;
    },

    /** The FHIR searches: a page within what the caller may see (as `list`), and how many there are in all. */
    async searchNotices(
      caller: Caller,
      search: NoticeSearch,
      page: { limit: number; cursor?: string },
    ): Promise<Page<Notice> & { total: number }> {
      const scope = narrow(caller, 'notification');
      if (seesNothing(scope)) return { items: [], nextCursor: null, total: 0 };
      const [found, total] = await Promise.all([notices.search(search, scope, page), notices.count(search, scope)]);
      return { ...found, total };
    },

    /** Whether a patient gets reminders (on unless turned off): whoever may set it may read it. */
    async reminders(caller: Caller, request: { patientId?: string }) {
      const patientId = preferenceOwner(caller, request.patientId);
      return { patientId, reminders: await notices.remindersWanted(patientId) };
    },

    /** Reminders on or off for a patient: a patient for themselves (their record by default), staff for anyone. */
    async setReminders(caller: Caller, request: { patientId?: string; reminders: boolean }) {
      const patientId = preferenceOwner(caller, request.patientId);
      await notices.setReminders(patientId, request.reminders);
      return { patientId, reminders: request.reminders };
    },

    /** An operator's re-send of a failed notice: pending again with a fresh budget. */
    async resend(id: string): Promise<AnyNotice> {
      const pending = await notices.resend(id);
      if (!pending)
        throw new RuleViolationError(`only a failed notice can be sent again; this one is ${await notices.statusOf(id)}`, {
          rule: 'resend-failed',
        });
      onPending();
      return pending;
    },
  };
}

export type NotificationUseCases = ReturnType<typeof notificationUseCases>;

/** The patient whose preference a call is about (a patient's own record by default), once the caller may set it. */
function preferenceOwner(caller: Caller, named: string | undefined): string {
  const patientId = named ?? (caller.kind === 'user' ? caller.patientId : undefined);
  if (!patientId) throw new InvalidInputError('name the patient', [{ path: 'patientId', message: 'required' }]);
  if (!may(caller, 'notification', 'set-preference', { patientId })) {
    throw new ForbiddenError('You may only see or set the preferences of your own patient record');
  }
  return patientId;
}
