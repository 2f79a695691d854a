import { formatTime, renderAccountMail, renderMail, type MailFacts } from '../../src/domain/mail.js';

const clinic = { name: 'Springfield <Health> Clinic', appUrl: 'https://clinic.example.org/', timeZone: 'Europe/Berlin' };
const facts: MailFacts = {
  kind: 'confirmation',
  version: 1,
  patientName: 'Ann <script>alert(1)</script> Lee',
  doctorName: 'Dr Grey',
  specialization: 'cardiology',
  serviceType: 'checkup',
  start: '2026-07-06T07:30:00.000Z',
  end: '2026-07-06T08:00:00.000Z',
};

describe('mail', () => {
  it("states times in the clinic's zone, named", () => {
    expect(formatTime('2026-07-06T07:30:00.000Z', 'Europe/Berlin')).toBe('Monday, 6 July 2026, 09:30 CEST');
    expect(formatTime('2026-07-06T07:30:00.000Z', 'UTC')).toBe('Monday, 6 July 2026, 07:30 UTC');
  });

  it("confirms a booking in the clinic's name, escaping whatever the records hold", () => {
    const mail = renderMail(facts, clinic);
    expect(mail.subject).toBe('Your appointment on Monday, 6 July 2026, 09:30 CEST is booked');
    expect(mail.html).toContain('Springfield &lt;Health&gt; Clinic');
    expect(mail.html).toContain('Dear Ann &lt;script&gt;alert(1)&lt;/script&gt; Lee,');
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('<b>Dr Grey</b>');
  });

  it('announces a move for a later version, and the new time', () => {
    const mail = renderMail({ ...facts, version: 2, start: '2026-07-07T12:00:00.000Z' }, clinic);
    expect(mail.subject).toBe('Your appointment has moved to Tuesday, 7 July 2026, 14:00 CEST');
    expect(mail.html).toContain('new time');
  });

  it('reminds, cancels with the reason, and receipts with the amount and a link to the invoices in the clinic app', () => {
    expect(renderMail({ ...facts, kind: 'reminder' }, clinic).subject).toBe(
      'Reminder: your appointment on Monday, 6 July 2026, 09:30 CEST',
    );
    const cancelled = renderMail({ ...facts, kind: 'cancellation', cancellationReason: 'Doctor ill' }, clinic);
    expect(cancelled.subject).toContain('is cancelled');
    expect(cancelled.html).toContain('Reason: Doctor ill');
    const receipt = renderMail(
      { ...facts, kind: 'receipt', payment: { amount: 12_345, currency: 'EUR', paidAt: '2026-07-06T08:10:00.000Z', method: 'debit' } },
      clinic,
    );
    expect(receipt.html).toContain('<b>EUR 123.45</b> (debit)');
    expect(receipt.html).toContain('<a href="https://clinic.example.org/app/invoices">');
    // A deployment that does not say where the app is: the screen is named, no link is made up.
    const unlinked = renderMail({ ...facts, kind: 'receipt', payment: null }, { ...clinic, appUrl: undefined });
    expect(unlinked.html).not.toContain('<a ');
    expect(unlinked.html).toContain('My invoices');
  });
});

describe('account mail', () => {
  const link = 'https://clinic.example.org/app/#/verify?token=abc_DEF-123&x=<y>';
  const account = { displayName: 'Ann <b>Lee</b>', link, expiresAt: '2026-07-08T07:30:00.000Z' };

  it("asks to confirm the address in the clinic's name, with the single-use link and when it expires, escaped", () => {
    const mail = renderAccountMail({ ...account, purpose: 'verify-email' }, clinic);
    expect(mail.subject).toBe('Confirm your email address for Springfield <Health> Clinic');
    expect(mail.html).toContain('<p style="margin:0 0 16px;font-size:14px;color:#555">Springfield &lt;Health&gt; Clinic</p>');
    expect(mail.html).toContain('Dear Ann &lt;b&gt;Lee&lt;/b&gt;,');
    expect(mail.html).toContain('<a href="https://clinic.example.org/app/#/verify?token=abc_DEF-123&amp;x=&lt;y&gt;"');
    expect(mail.html).not.toContain('<y>');
    expect(mail.html).toContain('until Wednesday, 8 July 2026, 09:30 CEST');
    expect(mail.html).toContain('about your account');
    expect(mail.html).not.toContain('about your appointment');
  });

  it('says what a reset and an invitation are for', () => {
    const reset = renderAccountMail({ ...account, purpose: 'reset-password' }, clinic);
    expect(reset.subject).toBe('Reset your Springfield <Health> Clinic password');
    expect(reset.html).toContain('Choose a new password');
    const invite = renderAccountMail({ ...account, purpose: 'invite' }, clinic);
    expect(invite.subject).toBe('You are invited to Springfield <Health> Clinic');
    expect(invite.html).toContain('Set my password');
    expect(invite.html).toContain('If you did not expect this');
  });
});
