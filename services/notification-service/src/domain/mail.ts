import type { AccountMailPurpose } from '@caregrid/contracts';
import type { NoticeKind } from './notice.js';

/** The clinic whose name the mail goes out in, and where its app lives (for links). */
export type ClinicSettings = { name: string; appUrl?: string; timeZone: string };

/** What a mail says, read from the appointment's and the patient's owners when it is written. */
export type MailFacts = {
  kind: NoticeKind;
  /** The appointment's version: a confirmation of version 2 or later announces a move. */
  version: number;
  patientName: string;
  doctorName: string;
  specialization: string;
  serviceType: string;
  start: string;
  end: string;
  cancellationReason?: string | null;
  payment?: { amount: number; currency: string; paidAt: string; method: string } | null;
};

export type Mail = { subject: string; html: string };

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** "Monday, 6 July 2026, 09:30" in the clinic's time zone, with the zone named. */
export function formatTime(iso: string, timeZone: string): string {
  const text = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  }).format(new Date(iso));
  return text.replace(/ at /, ', ');
}

/** Minor units as "EUR 123.45" (two decimals: the currencies CareGrid bills in). */
export const formatMoney = (amount: number, currency: string) => `${currency} ${(amount / 100).toFixed(2)}`;

/** The plain layout every mail shares: the clinic's name on top, the text, a footer saying why it came. */
export function layout(clinic: ClinicSettings, title: string, paragraphs: string[], about = 'about your appointment'): string {
  const name = escapeHtml(clinic.name);
  return [
    '<!doctype html>',
    `<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>`,
    '<body style="margin:0;padding:24px;background:#f5f5f5;font-family:Arial,Helvetica,sans-serif;color:#222">',
    '<div style="max-width:560px;margin:0 auto;background:#fff;border:1px solid #ddd;padding:24px">',
    `<p style="margin:0 0 16px;font-size:14px;color:#555">${name}</p>`,
    `<h1 style="margin:0 0 16px;font-size:20px">${escapeHtml(title)}</h1>`,
    ...paragraphs.map((p) => `<p style="margin:0 0 12px;line-height:1.5">${p}</p>`),
    `<p style="margin:24px 0 0;font-size:12px;color:#777">Sent by ${name} ${escapeHtml(about)}. Please do not reply to this message.</p>`,
    '</div></body></html>',
  ].join('\n');
}

function visit(facts: MailFacts, clinic: ClinicSettings): string {
  return `your ${escapeHtml(facts.serviceType)} with <b>${escapeHtml(facts.doctorName)}</b> (${escapeHtml(facts.specialization)}) on <b>${escapeHtml(formatTime(facts.start, clinic.timeZone))}</b>`;
}

/** The subject and HTML of a notice, in the clinic's name. Pure: everything it says is in `facts`. */
export function renderMail(facts: MailFacts, clinic: ClinicSettings): Mail {
  const hello = `Dear ${escapeHtml(facts.patientName)},`;
  const when = formatTime(facts.start, clinic.timeZone);
  switch (facts.kind) {
    case 'confirmation':
      if (facts.version > 1) {
        return {
          subject: `Your appointment has moved to ${when}`,
          html: layout(clinic, 'Your appointment has moved', [
            hello,
            `${visit(facts, clinic)} is your appointment's new time. The earlier time no longer holds.`,
          ]),
        };
      }
      return {
        subject: `Your appointment on ${when} is booked`,
        html: layout(clinic, 'Your appointment is booked', [hello, `We have booked ${visit(facts, clinic)}.`]),
      };
    case 'reminder':
      return {
        subject: `Reminder: your appointment on ${when}`,
        html: layout(clinic, 'A reminder of your appointment', [
          hello,
          `This is a reminder of ${visit(facts, clinic)}.`,
          'If you cannot come, please cancel in the clinic app so that someone else can have the time.',
        ]),
      };
    case 'cancellation':
      return {
        subject: `Your appointment on ${when} is cancelled`,
        html: layout(clinic, 'Your appointment is cancelled', [
          hello,
          `${visit(facts, clinic).replace(/^your/, 'Your')} is cancelled.`,
          ...(facts.cancellationReason ? [`Reason: ${escapeHtml(facts.cancellationReason)}`] : []),
        ]),
      };
    case 'receipt': {
      const paid = facts.payment;
      const invoices = clinic.appUrl ? `${clinic.appUrl.replace(/\/+$/, '')}/app/invoices` : undefined;
      return {
        subject: `Receipt for your appointment on ${when}`,
        html: layout(clinic, 'Thank you for your payment', [
          hello,
          paid
            ? `We have received <b>${escapeHtml(formatMoney(paid.amount, paid.currency))}</b> (${escapeHtml(paid.method)}) for ${visit(facts, clinic)}.`
            : `We have received your payment for ${visit(facts, clinic)}.`,
          invoices
            ? `Your invoice is in the clinic app: <a href="${escapeHtml(invoices)}">${escapeHtml(invoices)}</a>`
            : 'Your invoice is in the clinic app, under “My invoices”.',
        ]),
      };
    }
  }
}

/** What an account mail says: auth-service's answer for its request (the link carries a token minted for this mail). */
export type AccountMailFacts = { purpose: AccountMailPurpose; displayName: string; link: string; expiresAt: string };

const ACCOUNT_MAIL: Record<AccountMailPurpose, { subject: (clinic: string) => string; title: string; text: string; action: string }> = {
  'verify-email': {
    subject: (clinic) => `Confirm your email address for ${clinic}`,
    title: 'Confirm your email address',
    text: 'Please confirm that this address is yours, so that you can book appointments.',
    action: 'Confirm my address',
  },
  'reset-password': {
    subject: (clinic) => `Reset your ${clinic} password`,
    title: 'Reset your password',
    text: 'Someone, hopefully you, asked to reset the password of your account. Choose a new one here:',
    action: 'Choose a new password',
  },
  invite: {
    subject: (clinic) => `You are invited to ${clinic}`,
    title: 'You are invited',
    text: 'An account has been created for you. Set your password to start:',
    action: 'Set my password',
  },
};

/** The subject and HTML of an account mail, in the clinic's name, with its single-use link and when it expires. Pure. */
export function renderAccountMail(facts: AccountMailFacts, clinic: ClinicSettings): Mail {
  const words = ACCOUNT_MAIL[facts.purpose];
  const link = escapeHtml(facts.link);
  return {
    subject: words.subject(clinic.name),
    html: layout(
      clinic,
      words.title,
      [
        `Dear ${escapeHtml(facts.displayName)},`,
        words.text,
        `<a href="${link}" style="display:inline-block;padding:10px 16px;background:#1f5fa8;color:#fff;text-decoration:none">${escapeHtml(words.action)}</a>`,
        `Or open this address: <a href="${link}">${link}</a>`,
        `The link works once, until ${escapeHtml(formatTime(facts.expiresAt, clinic.timeZone))}.`,
        facts.purpose === 'invite'
          ? 'If you did not expect this, you may ignore this mail.'
          : 'If you did not ask for this, you may ignore this mail.',
      ],
      'about your account',
    ),
  };
}
