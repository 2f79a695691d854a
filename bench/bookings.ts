/**
 * Bookings through the gateway: distinct slots under load (pairs of one doctor
 * and one patient, each pair walking its own doctor's grid, so no two bookings
 * collide), and a burst of concurrent bookings of ONE slot (exactly one wins).
 */
import { doctorProfile } from '@caregrid/devkit';
import { createPatients } from './gateway.js';
import { loadNote, measure, type LoadResult, type LoadSettings, type LoadTarget } from './load.js';
import type { Figure } from './report.js';
import type { System } from './system.js';

const SLOT_MINUTES = 30;
/** 00:00–23:30 UTC every day: 47 slots a day. */
const SLOTS_PER_DAY = 47;
const EVERY_DAY = { start: '00:00', end: '23:30' };

/** The start of a doctor's `index`-th slot counted from `firstDay` (UTC midnight). */
export function slotStart(firstDay: Date, index: number): Date {
  const day = Math.floor(index / SLOTS_PER_DAY);
  return new Date(firstDay.getTime() + day * 86_400_000 + (index % SLOTS_PER_DAY) * SLOT_MINUTES * 60_000);
}

type Pair = { doctorId: string; patientId: string };

/** Hands out bookings no two of which collide: booking i goes to pair i mod n, at that pair's next slot. */
export class SlotPlanner {
  private issued = 0;
  constructor(
    private readonly pairs: Pair[],
    private readonly firstDay: Date,
  ) {}

  next(): Pair & { start: string; durationMinutes: number; serviceType: string } {
    const i = this.issued++;
    const pair = this.pairs[i % this.pairs.length]!;
    const slot = Math.floor(i / this.pairs.length);
    return { ...pair, start: slotStart(this.firstDay, slot).toISOString(), durationMinutes: SLOT_MINUTES, serviceType: 'consultation' };
  }
}

export async function createDoctor(system: System): Promise<string> {
  const profile = doctorProfile({
    workingHours: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((day) => [day, [EVERY_DAY]])),
    timeZone: 'UTC',
  });
  const created = await system.api('POST', '/api/doctors', profile);
  if (created.status !== 201) throw new Error(`POST /api/doctors answered ${created.status}: ${JSON.stringify(created.body)}`);
  return (created.body as { id: string }).id;
}

export type Bookings = { planner: SlotPlanner; target: () => LoadTarget };

/** `pairs` doctors and patients, and a load target whose every request books the planner's next slot. */
export async function prepareBookings(system: System, pairs: number): Promise<Bookings> {
  const doctors: string[] = [];
  for (let i = 0; i < pairs; i++) doctors.push(await createDoctor(system));
  const patients = await createPatients(system, pairs);
  const tomorrow = new Date();
  tomorrow.setUTCHours(24, 0, 0, 0);
  const planner = new SlotPlanner(
    doctors.map((doctorId, i) => ({ doctorId, patientId: patients[i]! })),
    tomorrow,
  );
  return {
    planner,
    target: () => ({
      url: system.gateway,
      requests: [
        {
          method: 'POST',
          path: '/api/appointments',
          headers: { ...system.admin, 'content-type': 'application/json' },
          setupRequest: (request) => ({ ...request, body: JSON.stringify(planner.next()) }),
        },
      ],
    }),
  };
}

export async function measureBookings(
  system: System,
  bookings: Bookings,
  load: LoadSettings,
  progress: (line: string) => void,
  quiet: () => Promise<void>,
): Promise<Figure[]> {
  progress(`bookings: ${load.connections} connections, distinct slots`);
  const result = await measure(bookings.target(), load);
  const figures = bookingFigures('bookings', 'bookings through the gateway', result);

  await quiet();
  progress(`bookings: a burst of ${load.connections} concurrent bookings of one slot`);
  const doctorId = await createDoctor(system);
  const patients = await createPatients(system, load.connections);
  const start = slotStart(new Date(Date.UTC(new Date().getUTCFullYear() + 2, 0, 1)), 20).toISOString();
  const began = performance.now();
  const statuses = await Promise.all(
    patients.map(
      async (patientId) =>
        (
          await system.api('POST', '/api/appointments', {
            patientId,
            doctorId,
            start,
            durationMinutes: SLOT_MINUTES,
            serviceType: 'consultation',
          })
        ).status,
    ),
  );
  const elapsed = performance.now() - began;
  const counts = Object.entries(
    statuses.reduce<Record<number, number>>((acc, status) => ({ ...acc, [status]: (acc[status] ?? 0) + 1 }), {}),
  ).map(([status, count]) => `${count}×${status}`);
  const created = statuses.filter((s) => s === 201).length;
  figures.push({
    id: 'bookings.burstOneSlot',
    label: `burst: ${load.connections} concurrent bookings of one slot, all answered`,
    value: elapsed,
    unit: 'ms',
    note: `${counts.join(', ')}${created === 1 ? '' : ` — NOT exactly one 201`}`,
  });
  return figures;
}

export function bookingFigures(id: string, label: string, result: LoadResult): Figure[] {
  return [
    {
      id: `${id}.rate`,
      label: `${label}: bookings/s`,
      value: result.rps,
      unit: '/s',
      reference: { label: 'goal', value: 300 },
      note: loadNote(result),
    },
    { id: `${id}.p50`, label: `${label}: p50`, value: result.p50, unit: 'ms' },
    { id: `${id}.p99`, label: `${label}: p99`, value: result.p99, unit: 'ms', reference: { label: 'goal <', value: 100 } },
  ];
}
