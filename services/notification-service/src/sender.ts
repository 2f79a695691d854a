import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DependencyUnavailableError, outsideRequest, type Logger } from '@caregrid/platform';
import { SendFailed, type Mailer } from './data/mailer.js';
import type { NoticeRepository } from './data/notice-repository.js';
import type { Peers } from './data/peers.js';
import { renderAccountMail, renderMail, type ClinicSettings } from './domain/mail.js';
import {
  afterFailure,
  isAccountNotice,
  retryDelayMs,
  sendFailureKind,
  type AccountNotice,
  type AnyNotice,
  type Notice,
  type RetryPolicy,
} from './domain/notice.js';

export type SenderSettings = RetryPolicy & { claimMs: number; idleIntervalMs: number; batchSize: number };

/**
 * A notice that should not go out (any more): its appointment or recipient is gone, a later notice
 * replaced it, or its account mail request was used, replaced or has expired.
 */
class NotSending extends Error {}

/**
 * Sends pending notices, like the outbox relay publishes events: claims a batch for a lease in
 * one short statement, writes and sends each mail with no transaction open, then marks it sent
 * (only while it still holds the claim). A mail server refusal for now (SMTP 4xx, 451) or a
 * sidecar failure is tried again with backoff, and the notice is `failed` once the budget is
 * spent; a permanent refusal (SMTP 5xx) fails it at once. Exactly once as far as the ledger
 * goes: a notice is claimed by one sender at a time and never sent after `sent`; a sender that
 * dies between the server's acceptance and the mark would send it once more after the lease,
 * which SMTP offers no way to avoid.
 */
export class NoticeSender {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  readonly senderId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;

  constructor(
    private readonly deps: {
      notices: NoticeRepository;
      peers: Peers;
      mailer: Mailer;
      clinic: ClinicSettings;
      settings: SenderSettings;
      logger: Logger;
      isShuttingDown?: () => boolean;
    },
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Notices became pending: send now rather than at the next tick. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  /** Passes until nothing is due; exposed for tests. */
  async drain(): Promise<number> {
    let sent = 0;
    for (;;) {
      if (this.stopped || this.deps.isShuttingDown?.()) return sent;
      const batch = await this.deps.notices.claimDue(this.senderId, this.deps.settings.batchSize, this.deps.settings.claimMs);
      if (batch.length === 0) return sent;
      for (const notice of batch) if (await this.sendOne(notice)) sent++;
    }
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    // Not the request's: a kick from a delivery must not make every later pass part of its trace.
    this.timer = outsideRequest(() => setTimeout(() => void this.tick(), delayMs));
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      this.running = this.drain().then(() => undefined);
      await this.running;
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'sending paused: ledger unavailable');
    } finally {
      this.running = undefined;
    }
    if (this.stopped) return;
    this.schedule(this.again ? 0 : this.deps.settings.idleIntervalMs);
    this.again = false;
  }

  private async sendOne(notice: AnyNotice): Promise<boolean> {
    const { notices, mailer, logger, settings } = this.deps;
    try {
      const mail = isAccountNotice(notice) ? await this.writeAccountMail(notice) : await this.write(notice);
      await mailer.send(mail);
      await notices.markSent(notice.id, this.senderId);
      const about = isAccountNotice(notice)
        ? { requestId: notice.requestId, accountId: notice.accountId }
        : { appointmentId: notice.appointmentId, version: notice.version };
      logger.info({ noticeId: notice.id, kind: notice.kind, ...about }, 'notice sent');
      return true;
    } catch (error) {
      if (error instanceof NotSending) {
        await notices.markAttempt(notice.id, this.senderId, { status: 'skipped', error: error.message });
        logger.info({ noticeId: notice.id, reason: error.message }, 'notice skipped');
        return false;
      }
      if (error instanceof DependencyUnavailableError) {
        // A peer or the ledger is down: no fault of the mail, so no attempt is counted.
        const nextAttemptAt = new Date(Date.now() + retryDelayMs(1, settings));
        await notices
          .markAttempt(notice.id, this.senderId, { status: 'pending', nextAttemptAt, error: error.message, counted: false })
          .catch(() => undefined);
        logger.warn({ err: error, noticeId: notice.id }, 'notice not written: a dependency is unavailable');
        return false;
      }
      const detail = error instanceof SendFailed ? error.detail : String(error);
      const attempts = notice.attempts + 1;
      const next = afterFailure(attempts, error instanceof SendFailed ? sendFailureKind(detail) : 'retryable', settings, new Date());
      await notices.markAttempt(
        notice.id,
        this.senderId,
        next.status === 'failed' ? { status: 'failed', error: detail } : { ...next, error: detail, counted: true },
      );
      const log = {
        noticeId: notice.id,
        kind: notice.kind,
        ...(isAccountNotice(notice) && { requestId: notice.requestId }),
        attempts,
        detail,
      };
      if (next.status === 'failed') logger.error({ ...log, alert: 'notice-failed' }, 'notice failed: an operator may send it again');
      else logger.warn({ ...log, nextAttemptAt: next.nextAttemptAt }, 'notice not sent yet: trying again later');
      return false;
    }
  }

  /**
   * An account mail, with the recipient and a link auth-service mints for this attempt (a retry
   * gets a fresh one, and only the newest works). A request that is gone (410) is never retried.
   */
  private async writeAccountMail(notice: AccountNotice): Promise<{ to: string; subject: string; html: string }> {
    const link = await this.deps.peers.accountMailLink(notice.requestId);
    if (!link) throw new NotSending('the account mail request was used, replaced or has expired');
    return { to: link.to, ...renderAccountMail(link, this.deps.clinic) };
  }

  /** The mail of a notice, from the appointment's and the patient's current records (none are stored here). */
  private async write(notice: Notice): Promise<{ to: string; subject: string; html: string }> {
    const { peers, clinic } = this.deps;
    const appointment = await peers.appointment(notice.appointmentId);
    if (!appointment) throw new NotSending('the appointment no longer exists');
    if (notice.kind === 'confirmation' || notice.kind === 'reminder') {
      const moved = new Date(appointment.start).getTime() !== new Date(notice.appointmentStart).getTime();
      if (moved || appointment.status === 'cancelled')
        throw new NotSending(moved ? 'the appointment moved' : 'the appointment was cancelled');
    }
    const recipient = await peers.recipient(notice.patientId);
    if (!recipient) throw new NotSending('the patient record no longer exists');
    const mail = renderMail(
      {
        kind: notice.kind,
        version: notice.version,
        patientName: recipient.name,
        doctorName: appointment.doctorName,
        specialization: appointment.specialization,
        serviceType: appointment.serviceType,
        // The time this notice is about (a cancellation's is the appointment's last).
        start: notice.appointmentStart,
        end: appointment.end,
        cancellationReason: appointment.cancellationReason,
        payment: appointment.payment && { ...appointment.payment, currency: appointment.currency },
      },
      clinic,
    );
    return { to: recipient.email, ...mail };
  }
}
