/**
 * @caregrid/fhir turns the platform's problems into OperationOutcomes; it
 * cannot import the platform (it stands on contracts alone), so this test
 * holds the two together: the problems the platform answers, as the FHIR
 * routes will see them.
 */
import { ConflictError, toProblem } from '@caregrid/platform';
import { bookingFromFhir, parseSearch, toFhirAppointment, toOperationOutcome } from '@caregrid/fhir';
import { appointment } from '../../packages/fhir/test/fixtures.js';

describe('what the platform answers becomes an OperationOutcome', () => {
  it('a refused FHIR booking: the platform’s 400 problem, each field error at its FHIRPath', () => {
    const { participant: _p, ...resource } = toFhirAppointment(appointment);
    let thrown: unknown;
    try {
      bookingFromFhir({ ...resource, participant: [{ actor: { reference: 'Device/1' } }], status: 'noshow' });
    } catch (error) {
      thrown = error;
    }
    const { problem } = toProblem(thrown);
    const { status, outcome } = toOperationOutcome(problem, { resourceType: 'Appointment' });
    expect(status).toBe(400);
    expect(outcome.issue.map((issue) => [issue.code, issue.expression?.[0]])).toEqual([
      ['invalid', 'Appointment.status'],
      ['invalid', 'Appointment.participant[0].actor.reference'],
      ['invalid', 'Appointment.participant'],
      ['invalid', 'Appointment.participant'],
    ]);
  });

  it('a refused search names the parameter; a double booking is a conflict', () => {
    let thrown: unknown;
    try {
      parseSearch('Appointment', { date: 'ne2026-03-01' });
    } catch (error) {
      thrown = error;
    }
    const searched = toOperationOutcome(toProblem(thrown).problem);
    expect(searched.outcome.issue[0]!.diagnostics).toMatch(/^search parameter date: prefix ne/);
    const conflict = toOperationOutcome(toProblem(new ConflictError('the doctor is already booked then')).problem);
    expect([conflict.status, conflict.outcome.issue[0]!.code]).toEqual([409, 'conflict']);
  });
});
