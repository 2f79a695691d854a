import { z } from 'zod';
import { ContractViolation, deadLetterTopic, defineEvent, doctorDeleted, Topics } from '../src/index.js';

const appointmentPaid = defineEvent({
  aggregate: 'appointment',
  verb: 'paid',
  topic: Topics.appointments,
  data: z.object({ appointmentId: z.uuid(), amount: z.number().int(), currency: z.string().length(3) }),
});

const envelope = (data: unknown, type = appointmentPaid.type) => ({
  specversion: '1.0',
  id: 'e1',
  source: 'appointment-service',
  type,
  data,
  pubsubname: 'events', // Dapr's own extension fields must be tolerated
});

describe('event contracts', () => {
  it('names types and dead-letter topics by the shared vocabulary', () => {
    expect(appointmentPaid.type).toBe('caregrid.appointment.paid.v1');
    expect(deadLetterTopic(Topics.appointments, 'billing-service')).toBe('appointments.billing-service.dlq');
  });

  it('parses a conforming CloudEvent', () => {
    const event = appointmentPaid.parse(envelope({ appointmentId: '1b4e28ba-2fa1-11d2-883f-0016d3cca427', amount: 5000, currency: 'EUR' }));
    expect(event.data.amount).toBe(5000);
  });

  it('rejects a wrong payload or another type with the failing paths', () => {
    expect(() => appointmentPaid.parse(envelope({ appointmentId: 'x', amount: 1.5, currency: 'EUR' }))).toThrow(ContractViolation);
    try {
      appointmentPaid.parse(envelope({ appointmentId: 'x', amount: 1.5, currency: 'EUR' }, 'caregrid.appointment.booked.v1'));
    } catch (error) {
      expect((error as ContractViolation).issues.map((i) => i.path).sort()).toEqual(['data.amount', 'data.appointmentId', 'type']);
    }
  });
});

describe('doctor.deleted', () => {
  const doctorId = '0190f0a0-0000-7000-8000-000000000001';

  it("carries the doctor's version the deletion made; one published before it did still parses, without a version", () => {
    expect(doctorDeleted.parse(envelope({ doctorId, version: 3 }, doctorDeleted.type)).data).toEqual({ doctorId, version: 3 });
    expect(doctorDeleted.parse(envelope({ doctorId }, doctorDeleted.type)).data).toEqual({ doctorId });
    expect(() => doctorDeleted.parse(envelope({ doctorId, version: 'three' }, doctorDeleted.type))).toThrow(ContractViolation);
  });
});
