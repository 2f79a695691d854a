import { z } from 'zod';
import { APPOINTMENT_STATUSES, type AppointmentRecord } from '@caregrid/contracts';
import {
  bookingFromFhir,
  booksSlot,
  slotBookingFromFhir,
  statusChangeFromFhir,
  statusChangeFromJsonPatch,
  Systems,
  toFhirAppointment,
} from '../src/index.js';
import { appointment, ids } from './fixtures.js';

/** The field paths (as the platform's problem `errors` will show them) and messages of a refused input. */
function refusal(run: () => unknown): { path: string; message: string }[] {
  try {
    run();
  } catch (error) {
    if (error instanceof z.ZodError) return error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw error;
  }
  throw new Error('was accepted');
}
const paths = (run: () => unknown) => refusal(run).map((issue) => issue.path);

const booking = () => {
  const { id: _id, meta: _meta, created: _created, ...resource } = toFhirAppointment(appointment);
  return resource as Record<string, unknown>;
};

describe('FHIR booking → our booking command', () => {
  it('record → FHIR → command is what the JSON API would have received for that booking', () => {
    expect(bookingFromFhir(toFhirAppointment(appointment))).toEqual({
      patientId: ids.patient,
      doctorId: ids.doctor,
      start: appointment.start,
      end: appointment.end,
      serviceType: 'consultation',
      reason: 'persistent cough',
    });
  });

  it('takes offsets (normalised to UTC), minutesDuration instead of end, PractitionerRole and absolute references', () => {
    const { end: _end, ...resource } = booking();
    expect(
      bookingFromFhir({
        ...resource,
        start: '2026-03-02T09:00:00+01:00',
        minutesDuration: 60,
        reasonCode: undefined,
        participant: [
          { actor: { reference: `https://clinic.example/api/fhir/Patient/${ids.patient.toUpperCase()}` }, status: 'accepted' },
          { actor: { reference: `PractitionerRole/${ids.doctor}` }, status: 'accepted' },
        ],
      }),
    ).toEqual({
      patientId: ids.patient,
      doctorId: ids.doctor,
      start: '2026-03-02T08:00:00.000Z',
      durationMinutes: 60,
      serviceType: 'consultation',
    });
  });

  it('refuses what cannot be booked, each at its element', () => {
    expect(refusal(() => bookingFromFhir({ ...booking(), status: 'proposed' }))).toEqual([
      { path: 'body.status', message: expect.stringMatching(/proposed is not supported/) },
    ]);
    expect(paths(() => bookingFromFhir({ ...booking(), status: 'fulfilled' }))).toEqual(['body.status']);
    expect(paths(() => bookingFromFhir({ ...booking(), resourceType: 'Patient' }))).toEqual(['body.resourceType']);
    expect(paths(() => bookingFromFhir({ ...booking(), start: '2026-03-02T09:00:00' }))).toEqual(['body.start']);
    expect(paths(() => bookingFromFhir({ ...booking(), start: '1800-03-02T09:00:00Z' }))).toEqual(['body.start']);
    expect(paths(() => bookingFromFhir({ ...booking(), end: undefined, minutesDuration: undefined }))).toEqual(['body.end']);
    expect(paths(() => bookingFromFhir({ ...booking(), minutesDuration: 45 }))).toEqual(['body.minutesDuration']);
    expect(paths(() => bookingFromFhir({ ...booking(), serviceType: [{ text: 'massage' }] }))).toEqual(['body.serviceType']);
    expect(
      paths(() => bookingFromFhir({ ...booking(), serviceType: [{ coding: [{ system: Systems.serviceType, code: 'massage' }] }] })),
    ).toEqual(['body.serviceType']);
    expect(paths(() => bookingFromFhir({ ...booking(), cancelationReason: { text: 'x' } }))).toEqual(['body.cancelationReason']);
  });

  it('needs exactly one patient and one practitioner, referenced by our ids', () => {
    const [patientParticipant, practitioner] = booking().participant as object[];
    expect(refusal(() => bookingFromFhir({ ...booking(), participant: [patientParticipant] }))).toEqual([
      { path: 'body.participant', message: 'no Practitioner participant' },
    ]);
    expect(paths(() => bookingFromFhir({ ...booking(), participant: [patientParticipant, practitioner, patientParticipant] }))).toEqual([
      'body.participant.2.actor.reference',
    ]);
    expect(
      paths(() => bookingFromFhir({ ...booking(), participant: [patientParticipant, { actor: { reference: 'Device/42' } }] })),
    ).toEqual(['body.participant.1.actor.reference', 'body.participant']);
    expect(paths(() => bookingFromFhir({ ...booking(), participant: [patientParticipant, { actor: { display: 'Dr. Who' } }] }))).toEqual([
      'body.participant.1.actor.reference',
    ]);
    expect(
      paths(() => bookingFromFhir({ ...booking(), participant: [patientParticipant, { ...practitioner, status: 'declined' }] })),
    ).toEqual(['body.participant.1.status']);
  });

  it('refuses elements it cannot map (a price cannot be slipped in) rather than dropping them silently', () => {
    expect(refusal(() => bookingFromFhir({ ...booking(), slot: [{ reference: 'Slot/x' }], comment: 'hi' }))).toEqual([
      { path: 'body.slot', message: expect.stringMatching(/cannot be mapped/) },
      { path: 'body.comment', message: expect.stringMatching(/cannot be mapped/) },
    ]);
    expect(paths(() => bookingFromFhir({ ...booking(), modifierExtension: [{ url: 'urn:x', valueBoolean: true }] }))).toEqual([
      'body.modifierExtension',
    ]);
    // Informational and derived elements are accepted and ignored.
    expect(() =>
      bookingFromFhir({ ...booking(), id: 'client-id', text: { status: 'generated', div: '<div/>' }, extension: [] }),
    ).not.toThrow();
  });
});

describe('FHIR booking by Slot reference → the booking of that slot', () => {
  const slotId = `${ids.doctor}.202603020900`;
  const slot = { id: slotId, doctorId: ids.doctor, start: '2026-03-02T09:00:00.000Z' };
  const bySlot = (extra: Record<string, unknown> = {}) => ({
    resourceType: 'Appointment',
    status: 'booked',
    serviceType: [{ coding: [{ system: Systems.serviceType, code: 'checkup' }] }],
    slot: [{ reference: `Slot/${slotId}` }],
    participant: [{ actor: { reference: `Patient/${ids.patient}` } }],
    ...extra,
  });

  it('the slot gives practitioner and start; the patient, service and reason are the booking’s', () => {
    expect(booksSlot(bySlot())).toBe(true);
    expect(booksSlot(booking())).toBe(false);
    expect(booksSlot(null)).toBe(false);
    expect(slotBookingFromFhir(bySlot({ reasonCode: [{ text: 'check' }] }))).toEqual({
      slot,
      booking: { patientId: ids.patient, serviceType: 'checkup', reason: 'check' },
    });
    // An absolute reference, and the practitioner, start (any offset) and end stated as the slot has them.
    expect(
      slotBookingFromFhir(
        bySlot({
          slot: [{ reference: `https://clinic.example/api/fhir/Slot/${slotId}` }],
          start: '2026-03-02T10:00:00+01:00',
          end: '2026-03-02T09:30:00Z',
          participant: [{ actor: { reference: `Patient/${ids.patient}` } }, { actor: { reference: `PractitionerRole/${ids.doctor}` } }],
        }),
      ),
    ).toEqual({ slot, booking: { patientId: ids.patient, serviceType: 'checkup' }, statedEnd: '2026-03-02T09:30:00.000Z' });
    // minutesDuration states the end from the slot's start; whether it is the slot's end is the service's to say.
    expect(slotBookingFromFhir(bySlot({ minutesDuration: 45 })).statedEnd).toBe('2026-03-02T09:45:00.000Z');
  });

  it('refuses what disagrees with the slot, or is no slot, each at its element', () => {
    expect(refusal(() => slotBookingFromFhir(bySlot({ start: '2026-03-02T09:30:00Z' })))).toEqual([
      { path: 'body.start', message: expect.stringMatching(/does not agree with Slot/) },
    ]);
    const otherDoctor = [
      { actor: { reference: `Patient/${ids.patient}` } },
      { actor: { reference: 'Practitioner/0190f0a0-0000-7000-8000-0000000000ee' } },
    ];
    expect(paths(() => slotBookingFromFhir(bySlot({ participant: otherDoctor })))).toEqual(['body.participant']);
    expect(paths(() => slotBookingFromFhir(bySlot({ slot: [{ reference: 'Slot/x' }] })))).toEqual(['body.slot.0.reference']);
    expect(paths(() => slotBookingFromFhir(bySlot({ slot: [{ reference: `Schedule/${ids.doctor}` }] })))).toEqual([
      'body.slot.0.reference',
    ]);
    expect(paths(() => slotBookingFromFhir(bySlot({ slot: [] })))).toEqual(['body.slot']);
    expect(paths(() => slotBookingFromFhir(bySlot({ slot: [{ reference: `Slot/${slotId}` }, { reference: `Slot/${slotId}` }] })))).toEqual([
      'body.slot',
    ]);
    expect(paths(() => slotBookingFromFhir(bySlot({ participant: [{ actor: { reference: `Practitioner/${ids.doctor}` } }] })))).toEqual([
      'body.participant',
    ]);
    expect(paths(() => slotBookingFromFhir(bySlot({ status: 'proposed', comment: 'hi' })))).toEqual(['body.status', 'body.comment']);
    expect(paths(() => slotBookingFromFhir(bySlot({ end: '2026-03-02T09:30:00Z', minutesDuration: 45 })))).toEqual([
      'body.minutesDuration',
    ]);
    expect(paths(() => slotBookingFromFhir(bySlot({ reasonCode: [{ text: 'x'.repeat(1_001) }] })))).toEqual(['body.reasonCode.0.text']);
  });
});

describe("FHIR commands under the JSON API's contracts", () => {
  const long = 'x'.repeat(1_001);

  it("a booking's reason (reasonCode text) is held to the JSON API's 1,000 characters, at its element", () => {
    expect(bookingFromFhir({ ...booking(), reasonCode: [{ text: 'y'.repeat(1_000) }] })).toMatchObject({ reason: 'y'.repeat(1_000) });
    expect(paths(() => bookingFromFhir({ ...booking(), reasonCode: [{ text: long }] }))).toEqual(['body.reasonCode.0.text']);
    // Through a coding's display too: whatever element the text comes from.
    expect(paths(() => bookingFromFhir({ ...booking(), reasonCode: [{ coding: [{ display: long }] }] }))).toEqual([
      'body.reasonCode.0.text',
    ]);
  });

  it("a cancellation's reason (cancelationReason) likewise, by PUT and by PATCH", () => {
    const cancel = { ...toFhirAppointment(appointment), status: 'cancelled', cancelationReason: { text: long } };
    expect(paths(() => statusChangeFromFhir(appointment, cancel))).toEqual(['body.cancelationReason.text']);
    expect(
      paths(() =>
        statusChangeFromJsonPatch(appointment, [
          { op: 'replace', path: '/status', value: 'cancelled' },
          { op: 'add', path: '/cancelationReason/text', value: long },
        ]),
      ),
    ).toEqual(['body.cancelationReason.text']);
  });
});

describe('FHIR status changes → our lifecycle commands', () => {
  const withStatus = (record: AppointmentRecord, status: string, extra: Record<string, unknown> = {}) => ({
    ...toFhirAppointment(record),
    status,
    ...extra,
  });

  it('statuses round-trip: every state of ours, emitted and read back, is the same command', () => {
    for (const status of APPOINTMENT_STATUSES) {
      const record = { ...appointment, status, cancellationReason: status === 'cancelled' ? 'feeling better' : null };
      const emitted = toFhirAppointment(record);
      expect(emitted.status).toBe(status);
      // Unchanged: no command. From booked: the command the JSON API's status route takes.
      expect(statusChangeFromFhir(record, emitted)).toBeNull();
      const expected = status === 'cancelled' ? { status, reason: 'feeling better' } : { status };
      expect(statusChangeFromFhir(appointment, { ...emitted, status })).toEqual(status === 'booked' ? null : expected);
    }
  });

  it('PUT: cancelled with its reason, checked-in, fulfilled, noshow', () => {
    expect(
      statusChangeFromFhir(appointment, withStatus(appointment, 'cancelled', { cancelationReason: { text: 'feeling better' } })),
    ).toEqual({
      status: 'cancelled',
      reason: 'feeling better',
    });
    expect(
      statusChangeFromFhir(
        appointment,
        withStatus(appointment, 'cancelled', { cancelationReason: { coding: [{ code: 'pat', display: 'Patient' }] } }),
      ),
    ).toEqual({ status: 'cancelled', reason: 'Patient' });
    // Without a reason the command goes through: the domain refuses it (422) as it does for the JSON API.
    expect(statusChangeFromFhir(appointment, withStatus(appointment, 'cancelled'))).toEqual({ status: 'cancelled' });
    expect(statusChangeFromFhir(appointment, withStatus(appointment, 'checked-in'))).toEqual({ status: 'checked-in' });
    const checkedIn = { ...appointment, status: 'checked-in' as const };
    expect(statusChangeFromFhir(checkedIn, withStatus(checkedIn, 'fulfilled'))).toEqual({ status: 'fulfilled' });
    expect(statusChangeFromFhir(appointment, withStatus(appointment, 'noshow'))).toEqual({ status: 'noshow' });
  });

  it('PUT: only the status may change; statuses we do not have are refused', () => {
    expect(paths(() => statusChangeFromFhir(appointment, withStatus(appointment, 'cancelled', { start: '2026-03-03T08:00:00Z' })))).toEqual(
      ['body.start'],
    );
    const participant = [
      { actor: { reference: `Patient/${ids.doctor}` }, status: 'accepted' },
      { actor: { reference: `Practitioner/${ids.patient}` }, status: 'accepted' },
    ];
    expect(paths(() => statusChangeFromFhir(appointment, withStatus(appointment, 'cancelled', { participant })))).toEqual([
      'body.participant',
    ]);
    expect(paths(() => statusChangeFromFhir(appointment, withStatus(appointment, 'noshow', { id: ids.invoice })))).toEqual(['body.id']);
    expect(
      paths(() =>
        statusChangeFromFhir(
          appointment,
          withStatus(appointment, 'noshow', { serviceType: [{ coding: [{ system: Systems.serviceType, code: 'surgery' }] }] }),
        ),
      ),
    ).toEqual(['body.serviceType']);
    for (const status of ['arrived', 'entered-in-error', 'waitlist', 'pending', 'booking']) {
      expect(paths(() => statusChangeFromFhir(appointment, withStatus(appointment, status)))).toEqual(['body.status']);
    }
  });

  it('PATCH (JSON Patch): status and cancelationReason, test operations checked, anything else refused', () => {
    expect(
      statusChangeFromJsonPatch(appointment, [
        { op: 'test', path: '/status', value: 'booked' },
        { op: 'replace', path: '/status', value: 'cancelled' },
        { op: 'add', path: '/cancelationReason', value: { text: 'feeling better' } },
      ]),
    ).toEqual({ status: 'cancelled', reason: 'feeling better' });
    expect(
      statusChangeFromJsonPatch(appointment, [
        { op: 'replace', path: '/status', value: 'cancelled' },
        { op: 'add', path: '/cancelationReason/text', value: 'travel' },
      ]),
    ).toEqual({ status: 'cancelled', reason: 'travel' });
    expect(statusChangeFromJsonPatch(appointment, [{ op: 'replace', path: '/status', value: 'noshow' }])).toEqual({ status: 'noshow' });
    expect(statusChangeFromJsonPatch(appointment, [{ op: 'replace', path: '/status', value: 'booked' }])).toBeNull();

    expect(
      paths(() =>
        statusChangeFromJsonPatch(appointment, [
          { op: 'test', path: '/status', value: 'checked-in' },
          { op: 'replace', path: '/status', value: 'fulfilled' },
        ]),
      ),
    ).toEqual(['body.0']);
    expect(paths(() => statusChangeFromJsonPatch(appointment, [{ op: 'replace', path: '/start', value: '2026-03-03T08:00:00Z' }]))).toEqual(
      ['body.0'],
    );
    expect(paths(() => statusChangeFromJsonPatch(appointment, [{ op: 'remove', path: '/status' }]))).toEqual(['body.0.op']);
    expect(paths(() => statusChangeFromJsonPatch(appointment, [{ op: 'replace', path: '/status', value: 'arrived' }]))).toEqual(['body.0']);
    expect(paths(() => statusChangeFromJsonPatch(appointment, []))).toEqual(['body']);
    expect(paths(() => statusChangeFromJsonPatch(appointment, [{ op: 'add', path: '/cancelationReason', value: { text: 'x' } }]))).toEqual([
      'body',
    ]);
    expect(paths(() => statusChangeFromJsonPatch(appointment, { status: 'cancelled' }))).toEqual(['body']);
  });
});
