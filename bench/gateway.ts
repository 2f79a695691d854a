/**
 * Reads and writes through the gateway (JWT check in its sidecar, PostgreSQL
 * behind patient-service), and patient-service's own read by id called
 * directly with its app API token, as its sidecar calls it.
 */
import { stackSigningKey, viaGatewayAs } from '@caregrid/devkit';
import type { Floors } from './floors.js';
import { loadNote, measure, type LoadSettings } from './load.js';
import type { Figure } from './report.js';
import type { System } from './system.js';

let sequence = 0;
/** A patient nobody else has (email and name unique per bench process). */
export const newPatient = () => {
  const n = `${process.pid}-${Date.now()}-${++sequence}`;
  return { name: `Bench Patient ${n}`, email: `bench.${n}@example.org`, dateOfBirth: '1980-05-05', gender: 'other' };
};

export async function createPatients(system: System, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const created = await system.api('POST', '/api/patients', newPatient());
    if (created.status !== 201) throw new Error(`POST /api/patients answered ${created.status}: ${JSON.stringify(created.body)}`);
    ids.push((created.body as { id: string }).id);
  }
  return ids;
}

export async function measureGateway(
  system: System,
  floors: Floors | undefined,
  load: LoadSettings,
  progress: (line: string) => void,
  quiet: () => Promise<void>,
): Promise<Figure[]> {
  progress('gateway: seeding 20 patients');
  const [patientId] = await createPatients(system, 20);
  const jwtFloor = floors && { label: 'floor 2 sidecars + JWT (goal ≥ 0.90)', value: floors.sidecarsJwt };
  const figures: Figure[] = [];

  progress('gateway: GET /api/patients/{id}');
  const byId = await measure({ url: `${system.gateway}/api/patients/${patientId}`, headers: system.admin }, load);
  figures.push({
    id: 'gateway.patientById',
    label: 'gateway GET /api/patients/{id}',
    value: byId.rps,
    unit: 'req/s',
    reference: jwtFloor,
    note: loadNote(byId),
  });

  await quiet();
  progress('gateway: GET /api/patients?limit=20');
  const list = await measure({ url: `${system.gateway}/api/patients?limit=20`, headers: system.admin }, load);
  figures.push({
    id: 'gateway.patientList',
    label: 'gateway GET /api/patients?limit=20',
    value: list.rps,
    unit: 'req/s',
    reference: jwtFloor,
    note: loadNote(list),
  });

  await quiet();
  progress('gateway: POST /api/patients (a new patient each)');
  const create = await measure(
    {
      url: system.gateway,
      requests: [
        {
          method: 'POST',
          path: '/api/patients',
          headers: { ...system.admin, 'content-type': 'application/json' },
          setupRequest: (request) => ({ ...request, body: JSON.stringify(newPatient()) }),
        },
      ],
    },
    load,
  );
  figures.push({
    id: 'gateway.patientCreate',
    label: 'gateway POST /api/patients',
    value: create.rps,
    unit: 'req/s',
    reference: jwtFloor,
    note: loadNote(create),
  });

  if (system.stack) {
    await quiet();
    progress('patient-service direct: GET /patients/{id} with the app token');
    const member = system.stack.member('patient-service');
    const direct = await measure(
      {
        url: `${system.stack.url('patient-service')}/patients/${patientId}`,
        headers: { ...viaGatewayAs({ roles: ['admin'] }, stackSigningKey(system.stack.secrets())), 'dapr-api-token': member.appApiToken! },
      },
      load,
    );
    figures.push({
      id: 'service.patientByIdDirect',
      label: 'patient-service GET /patients/{id} direct',
      value: direct.rps,
      unit: 'req/s',
      reference: floors && { label: 'floor trivial app direct (goal ≥ 5,000 req/s)', value: floors.direct },
      note: loadNote(direct),
    });
  } else {
    figures.push({
      id: 'service.patientByIdDirect',
      label: 'patient-service GET /patients/{id} direct',
      value: null,
      unit: 'req/s',
      note: 'skipped: --gateway (needs the app port and token of a stack of the bench’s own)',
    });
  }
  return figures;
}
