import {
  COMMUNICATION_REQUEST_STATUSES,
  isCommunication,
  isCommunicationRequest,
  noticeStatusesOfCommunication,
  noticeStatusesOfRequest,
  parseSearch,
  Systems,
  toFhirCommunication,
  toFhirCommunicationRequest,
} from '../src/index.js';
import { expectValidFhir } from './fhir-schema.js';
import { confirmation, ids, reminder } from './fixtures.js';

const patientRef = { reference: `Patient/${ids.patient}` };
const appointmentRef = { reference: `Appointment/${ids.appointment}` };

describe('CommunicationRequest (a reminder)', () => {
  it('validates against the R4 schema in every status', () => {
    for (const status of ['scheduled', 'pending', 'sent', 'skipped', 'failed'] as const) {
      expectValidFhir(
        toFhirCommunicationRequest({ ...reminder, status, lastError: status === 'skipped' ? 'the appointment moved' : null }),
      );
    }
  });

  it('a scheduled reminder is active: the patient, the appointment, due at the reminder time, by email, no payload', () => {
    const resource = toFhirCommunicationRequest(reminder);
    expect(resource).toEqual({
      resourceType: 'CommunicationRequest',
      id: ids.reminder,
      meta: { lastUpdated: reminder.updatedAt },
      text: {
        status: 'generated',
        div: expect.stringMatching(/^<div xmlns="http:\/\/www.w3.org\/1999\/xhtml">Reminder e-mail .*: active<\/div>$/),
      },
      status: 'active',
      category: [{ coding: [{ system: Systems.communicationCategory, code: 'reminder' }] }],
      medium: [{ coding: [{ system: Systems.participationMode, code: 'EMAILWRIT', display: 'email' }] }],
      subject: patientRef,
      about: [appointmentRef],
      occurrenceDateTime: reminder.dueAt,
      authoredOn: reminder.createdAt,
      recipient: [patientRef],
    });
    expect(resource).not.toHaveProperty('payload');
  });

  it('pending is still active; sent completed; skipped (cancelled, moved) revoked with the reason; failed on hold', () => {
    expect(toFhirCommunicationRequest({ ...reminder, status: 'pending' }).status).toBe('active');
    expect(toFhirCommunicationRequest({ ...reminder, status: 'sent', sentAt: '2026-03-01T09:00:01.000Z' }).status).toBe('completed');
    const revoked = toFhirCommunicationRequest({ ...reminder, status: 'skipped', lastError: 'the appointment was cancelled' });
    expect(revoked).toMatchObject({ status: 'revoked', statusReason: { text: 'the appointment was cancelled' } });
    expect(toFhirCommunicationRequest({ ...reminder, status: 'failed', lastError: '451 try later' })).toMatchObject({ status: 'on-hold' });
    expect(toFhirCommunicationRequest({ ...reminder, status: 'failed', lastError: '451 try later' })).not.toHaveProperty('statusReason');
  });

  it('only reminders are requests', () => {
    expect(isCommunicationRequest(reminder)).toBe(true);
    expect(isCommunicationRequest(confirmation)).toBe(false);
    expect(() => toFhirCommunicationRequest(confirmation)).toThrow(/no CommunicationRequest/);
  });
});

describe('Communication (what was sent)', () => {
  const sentReminder = { ...reminder, status: 'sent' as const, attempts: 1, sentAt: '2026-03-01T09:00:01.000Z' };

  it('validates against the R4 schema: sent and failed, reminder and confirmation', () => {
    expectValidFhir(toFhirCommunication(confirmation));
    expectValidFhir(toFhirCommunication(sentReminder));
    expectValidFhir(toFhirCommunication({ ...confirmation, status: 'failed', sentAt: null, lastError: '451 <ann@example.org> later' }));
  });

  it('a sent confirmation is completed: its kind as category, the time sent, the patient and the appointment', () => {
    expect(toFhirCommunication(confirmation)).toEqual({
      resourceType: 'Communication',
      id: ids.confirmation,
      meta: { lastUpdated: confirmation.updatedAt },
      text: { status: 'generated', div: expect.stringMatching(/>Confirmation e-mail to the patient: sent \d{4}-\d\d-\d\d \d\d:\d\d UTC</) },
      status: 'completed',
      category: [
        { coding: [{ system: Systems.communicationCategory, code: 'notification' }] },
        { coding: [{ system: Systems.noticeKind, code: 'confirmation' }] },
      ],
      medium: [{ coding: [{ system: Systems.participationMode, code: 'EMAILWRIT', display: 'email' }] }],
      subject: patientRef,
      about: [appointmentRef],
      sent: confirmation.sentAt,
      recipient: [patientRef],
    });
  });

  it('a sent reminder is based on its CommunicationRequest (the same id)', () => {
    expect(toFhirCommunication(sentReminder)).toMatchObject({
      basedOn: [{ reference: `CommunicationRequest/${ids.reminder}` }],
      category: [{ coding: [{ code: 'reminder' }] }, { coding: [{ code: 'reminder' }] }],
      sent: sentReminder.sentAt,
    });
    expect(toFhirCommunication(confirmation)).not.toHaveProperty('basedOn');
  });

  it("a failed one is not-done with a coded reason, and the mail server's words (which may name the recipient) stay out", () => {
    const failed = toFhirCommunication({ ...confirmation, status: 'failed', sentAt: null, lastError: '451 <ann@example.org> later' });
    expect(failed).toMatchObject({
      status: 'not-done',
      statusReason: { coding: [{ system: Systems.communicationNotDoneReason, code: 'system-error' }] },
    });
    expect(failed).not.toHaveProperty('sent');
    expect(JSON.stringify(failed)).not.toMatch(/ann@example|451/);
  });

  it('nothing before it was sent or given up on', () => {
    expect(isCommunication(confirmation)).toBe(true);
    for (const status of ['scheduled', 'pending', 'skipped'] as const) {
      expect(isCommunication({ status })).toBe(false);
      expect(() => toFhirCommunication({ ...confirmation, status })).toThrow(/no Communication/);
    }
  });

  it('no personal data beyond references: no names, addresses, text', () => {
    for (const resource of [toFhirCommunication(confirmation), toFhirCommunicationRequest(reminder)]) {
      expect(resource).not.toHaveProperty('payload');
      expect(JSON.stringify(resource)).not.toMatch(/@|display":"(?!email)/);
    }
  });
});

describe('their searches', () => {
  it('status maps back onto the notice statuses', () => {
    expect(noticeStatusesOfRequest('active').sort()).toEqual(['pending', 'scheduled']);
    expect(noticeStatusesOfRequest('revoked')).toEqual(['skipped']);
    expect(noticeStatusesOfRequest('completed')).toEqual(['sent']);
    expect(noticeStatusesOfRequest('on-hold')).toEqual(['failed']);
    expect(COMMUNICATION_REQUEST_STATUSES.flatMap(noticeStatusesOfRequest).sort()).toEqual(
      ['failed', 'pending', 'scheduled', 'sent', 'skipped'].sort(),
    );
    expect(noticeStatusesOfCommunication('completed')).toEqual(['sent']);
    expect(noticeStatusesOfCommunication('not-done')).toEqual(['failed']);
  });

  it('patient or subject, about, based-on, status, paging', () => {
    expect(
      parseSearch('CommunicationRequest', {
        subject: `Patient/${ids.patient}`,
        about: `Appointment/${ids.appointment}`,
        status: 'active',
        _count: '5',
      }),
    ).toEqual({ patientId: ids.patient, appointmentId: ids.appointment, statuses: ['scheduled', 'pending'], count: 5 });
    expect(parseSearch('CommunicationRequest', { patient: ids.patient, subject: `Patient/${ids.patient}` })).toMatchObject({
      patientId: ids.patient,
    });
    expect(parseSearch('Communication', { 'based-on': `CommunicationRequest/${ids.reminder}`, status: 'not-done' })).toEqual({
      patientId: undefined,
      appointmentId: undefined,
      requestId: ids.reminder,
      statuses: ['failed'],
      count: 20,
    });
  });

  it('refuses other patients at once, other reference types and statuses of the other resource', () => {
    expect(() => parseSearch('Communication', { patient: ids.patient, subject: ids.doctor })).toThrow(/different patients/);
    expect(() => parseSearch('CommunicationRequest', { about: `Patient/${ids.patient}` })).toThrow(/Appointment/);
    expect(() => parseSearch('CommunicationRequest', { status: 'not-done' })).toThrow(/one of/);
    expect(() => parseSearch('Communication', { status: 'active' })).toThrow(/one of/);
    expect(() => parseSearch('Communication', { 'based-on': `Appointment/${ids.appointment}` })).toThrow(/CommunicationRequest/);
  });
});
