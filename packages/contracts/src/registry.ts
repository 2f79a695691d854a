import type { z } from 'zod';
import * as accounts from './accounts.js';
import * as appointments from './appointments.js';
import * as audit from './audit.js';
import type { EventContract, Topic } from './core.js';
import * as doctors from './doctors.js';
import * as invoices from './invoices.js';
import * as patients from './patients.js';

const isEventContract = (value: unknown): value is EventContract<z.ZodType> => {
  const candidate = value as Partial<EventContract<z.ZodType>> | null;
  return typeof candidate?.parse === 'function' && typeof candidate.type === 'string' && typeof candidate.topic === 'string';
};

/** Every event contract of the modules that define events (their defineEvent exports). */
const ALL_EVENTS = [patients, doctors, appointments, invoices, audit, accounts].flatMap((module) =>
  Object.values(module).filter(isEventContract),
);

/**
 * The contracts of every event published on `topics`: for a subscriber of whole topics, which
 * then knows each new event type the moment it is defined here.
 */
export const eventContractsOf = (topics: Topic[]): EventContract<z.ZodType>[] =>
  ALL_EVENTS.filter((contract) => (topics as string[]).includes(contract.topic));
