/**
 * Self-service edits through the gateway, every process real (gateway and its
 * JWT policy, auth-service, patient-service, doctor-service, each with its
 * daprd): a doctor or a patient may change how to reach them and (doctors)
 * their availability on their own record; everything else is staff-managed.
 */
import {
  jsonClient,
  readyAccount,
  bootstrapAdminAuth,
  startTestStack,
  doctorProfile,
  PASSWORD,
  unique,
  uniqueEmail,
  type TestStack,
} from '@caregrid/devkit';

let stack: TestStack;
let api: ReturnType<typeof jsonClient>;
let admin: Record<string, string>;

type Problem = { status: number; allowedFields?: string[]; refusedFields?: string[] };
type Doctor = { id: string; licenseNumber: string; fees: Record<string, number>; workingHours: unknown; version: number };
type Patient = { id: string; userId: string | null; phone: string | null; updatedAt: string };

/** An account with one role, linked to a record, signed in. */
async function account(role: 'doctor' | 'patient', link: { doctorId?: string; patientId?: string }) {
  const credentials = { email: uniqueEmail(role), password: PASSWORD };
  const ready = await readyAccount(api, admin, { name: role, ...credentials, roles: [role], ...link });
  return { userId: ready.id, auth: ready.auth };
}

async function createDoctor(): Promise<Doctor> {
  const body = doctorProfile({ specialization: 'neurology', yearsOfExperience: 12, department: 'Neuro', fees: { consultation: 6_000 } });
  const response = await api('POST', '/api/doctors', body, admin);
  expect(response.status).toBe(201);
  return response.body as Doctor;
}

async function createPatient(): Promise<Patient> {
  const n = unique('self');
  const body = {
    name: `Self ${n}`,
    email: `${n}@example.org`,
    dateOfBirth: '1979-04-04',
    gender: 'female',
    details: { allergies: ['latex'] },
  };
  const response = await api('POST', '/api/patients', body, admin);
  expect(response.status).toBe(201);
  return response.body as Patient;
}

beforeAll(async () => {
  stack = await startTestStack({ apps: ['gateway', 'auth-service', 'patient-service', 'doctor-service'] });
  api = jsonClient(stack.url('gateway'));
  admin = await bootstrapAdminAuth(stack);
}, 180_000);

afterAll(() => stack?.stop());

describe('a doctor on their own profile', () => {
  it('may not change the licence, specialization or tariff: 403 listing what they may change, nothing written', async () => {
    const doctor = await createDoctor();
    const own = await account('doctor', { doctorId: doctor.id });
    for (const patch of [{ licenseNumber: 'X' }, { specialization: 'surgery', accepting: false }, { fees: { consultation: 1 } }]) {
      const response = await api('PATCH', `/api/doctors/${doctor.id}`, patch, own.auth);
      expect(response).toMatchObject({ status: 403, body: { allowedFields: ['phone', 'workingHours', 'accepting'] } });
      expect((response.body as Problem).refusedFields).toEqual(Object.keys(patch).filter((field) => field !== 'accepting'));
    }
    const { id: _id, version: _version, createdAt: _c, updatedAt: _u, ...profile } = doctor as Doctor & Record<string, unknown>;
    // Replacing the whole profile is a staff action: the gateway's policy already refuses the doctor's role.
    expect((await api('PUT', `/api/doctors/${doctor.id}`, { ...profile, licenseNumber: 'X' }, own.auth)).status).toBe(403);
    expect((await api('GET', `/api/doctors/${doctor.id}`, undefined, own.auth)).body).toEqual(doctor);
  });

  it('may change their working hours, phone and accepting; staff still change the rest', async () => {
    const doctor = await createDoctor();
    const own = await account('doctor', { doctorId: doctor.id });
    const hours = { mon: null, thu: [{ start: '14:00', end: '18:00' }] };
    const response = await api('PATCH', `/api/doctors/${doctor.id}`, { workingHours: hours, phone: '555-0142', version: 1 }, own.auth);
    expect(response).toMatchObject({
      status: 200,
      body: {
        workingHours: { thu: [{ start: '14:00', end: '18:00' }] },
        phone: '555-0142',
        licenseNumber: doctor.licenseNumber,
        version: 2,
      },
    });
    const other = await createDoctor();
    expect((await api('PATCH', `/api/doctors/${other.id}`, { accepting: false }, own.auth)).status).toBe(403);
    expect(await api('PATCH', `/api/doctors/${doctor.id}`, { licenseNumber: `${doctor.licenseNumber}-R` }, admin)).toMatchObject({
      status: 200,
      body: { licenseNumber: `${doctor.licenseNumber}-R` },
    });
  });
});

describe('a patient on their own record', () => {
  it('may not re-link it to another account (or touch other staff fields): 403, nothing written', async () => {
    const patient = await createPatient();
    const own = await account('patient', { patientId: patient.id });
    const other = await account('patient', {});
    const before = (await api('GET', `/api/patients/${patient.id}`, undefined, admin)).body as Patient;
    for (const patch of [{ userId: other.userId }, { userId: own.userId }, { details: { allergies: [] } }, { email: 'new@example.org' }]) {
      const response = await api('PATCH', `/api/patients/${patient.id}`, patch, own.auth);
      expect(response).toMatchObject({ status: 403, body: { allowedFields: ['phone', 'address', 'details.emergencyContact'] } });
    }
    const { id: _id, createdAt: _c, updatedAt: _u, ...record } = before as Patient & Record<string, unknown>;
    expect((await api('PUT', `/api/patients/${patient.id}`, { ...record, userId: other.userId }, own.auth)).status).toBe(403);
    expect((await api('GET', `/api/patients/${patient.id}`, undefined, admin)).body).toEqual(before);
  });

  it('may change their phone, address and emergency contact', async () => {
    const patient = await createPatient();
    const own = await account('patient', { patientId: patient.id });
    const contact = { name: 'Sam', phone: '555-0111', relation: 'brother' };
    const response = await api(
      'PATCH',
      `/api/patients/${patient.id}`,
      { phone: '555-0199', address: 'Elm St 5', details: { emergencyContact: contact } },
      own.auth,
    );
    expect(response).toMatchObject({
      status: 200,
      body: { phone: '555-0199', address: 'Elm St 5', details: { allergies: ['latex'], emergencyContact: contact } },
    });
  });
});
