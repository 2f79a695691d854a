import { WEEKDAYS, type DoctorRecord, type DoctorView } from '@caregrid/contracts';
import { narrative } from './narrative.js';
import { humanName } from './patient.js';
import { compact, Extensions, reference, Systems, type Resource } from './systems.js';
import { identifierType, specialtyConcept } from './terminology.js';

export type FhirPractitioner = Resource & { resourceType: 'Practitioner'; id: string };
export type FhirPractitionerRole = Resource & { resourceType: 'PractitionerRole'; id: string };

/** The public profile has no contact, licence or timestamps: the resources made of it have none either. */
const isWholeRecord = (doctor: DoctorView): doctor is DoctorRecord => 'licenseNumber' in doctor;

/** Practitioner ← doctor-service's record: who the doctor is (what they do and when is the PractitionerRole). */
export function toFhirPractitioner(doctor: DoctorView): FhirPractitioner {
  const whole = isWholeRecord(doctor) ? doctor : undefined;
  return compact({
    resourceType: 'Practitioner' as const,
    id: doctor.id,
    meta: compact({ versionId: String(doctor.version), lastUpdated: whole?.updatedAt }),
    text: narrative(doctor.name),
    identifier: whole && [
      {
        use: 'official',
        type: identifierType('MD'),
        system: Systems.licenseNumber,
        value: whole.licenseNumber,
      },
    ],
    active: true,
    name: [humanName(doctor)],
    telecom:
      whole &&
      [
        { system: 'email', value: whole.email, use: 'work' },
        whole.phone === null ? undefined : { system: 'phone', value: whole.phone, use: 'work' },
      ].filter((contact) => !!contact),
  });
}

/** FHIR `time` is hh:mm:ss. */
const fhirTime = (clock: string) => `${clock}:00`;

/**
 * Working hours → `availableTime`: one entry per distinct interval, with every
 * weekday that has it (Mon–Fri 09:00–12:00 is one entry, not five). The times
 * are wall-clock in the doctor's zone, which R4 cannot say: our time-zone
 * extension carries it.
 */
export function availableTime(workingHours: DoctorView['workingHours']) {
  const byInterval = new Map<string, { daysOfWeek: string[]; availableStartTime: string; availableEndTime: string }>();
  for (const day of WEEKDAYS) {
    for (const { start, end } of workingHours[day] ?? []) {
      const key = `${start}-${end}`;
      const entry = byInterval.get(key) ?? { daysOfWeek: [], availableStartTime: fhirTime(start), availableEndTime: fhirTime(end) };
      entry.daysOfWeek.push(day);
      byInterval.set(key, entry);
    }
  }
  return [...byInterval.values()].sort((a, b) => a.availableStartTime.localeCompare(b.availableStartTime));
}

/**
 * PractitionerRole ← the same record: the specialization (`specialty`), the
 * working hours (`availableTime`), where (hospital as organization display,
 * department as location display: we serve neither resource). One role per
 * doctor, with the doctor's id. `active` is whether the doctor accepts
 * appointments now: the role is bookable or not.
 */
export function toFhirPractitionerRole(doctor: DoctorView): FhirPractitionerRole {
  const whole = isWholeRecord(doctor) ? doctor : undefined;
  return compact({
    resourceType: 'PractitionerRole' as const,
    id: doctor.id,
    meta: compact({ versionId: String(doctor.version), lastUpdated: whole?.updatedAt }),
    text: narrative(
      `${doctor.name}: ${specialtyConcept(doctor.specialization).text}, ${doctor.hospitalName} (${doctor.department}); ${doctor.accepting ? 'accepting' : 'not accepting'} appointments`,
    ),
    extension: [{ url: Extensions.timeZone, valueCode: doctor.timeZone }],
    active: doctor.accepting,
    practitioner: reference('Practitioner', doctor.id, doctor.name),
    organization: { display: doctor.hospitalName },
    specialty: [specialtyConcept(doctor.specialization)],
    location: [{ display: doctor.department }],
    telecom: !whole || whole.phone === null ? undefined : [{ system: 'phone', value: whole.phone, use: 'work' }],
    availableTime: availableTime(doctor.workingHours),
    availabilityExceptions: doctor.accepting ? undefined : 'Not accepting appointments at present.',
  });
}
