import { z } from 'zod';
import { accountMailLink, APPOINTMENT_STATUSES, PAYMENT_METHODS, type AccountMailLink } from '@caregrid/contracts';
import { DependencyUnavailableError, type Sidecar } from '@caregrid/platform';

/**
 * What notification-service reads of its peers, by Dapr service invocation as itself (its
 * app-id is a principal of the access model: it may read any patient and any appointment, and
 * nothing else). Tolerant readers: other fields are ignored. A record that is gone is
 * `undefined`; a peer that does not answer properly is unavailable (the caller tries again later).
 */
const appointmentView = z.object({
  id: z.uuid(),
  patientId: z.uuid(),
  doctorId: z.uuid(),
  doctorName: z.string(),
  specialization: z.string(),
  serviceType: z.string(),
  start: z.iso.datetime(),
  end: z.iso.datetime(),
  status: z.enum(APPOINTMENT_STATUSES),
  // Answered once appointments can move; without it the start tells whether a reminder's time holds.
  version: z.number().int().positive().optional(),
  cancellationReason: z.string().nullable().default(null),
  amount: z.number().int(),
  currency: z.string(),
  payment: z
    .object({ method: z.enum(PAYMENT_METHODS), amount: z.number().int(), paidAt: z.iso.datetime() })
    .nullable()
    .default(null),
});
export type AppointmentView = z.output<typeof appointmentView>;

const recipientView = z.object({ id: z.uuid(), name: z.string(), email: z.string() });
export type Recipient = z.output<typeof recipientView>;

async function read<S extends z.ZodType>(sidecar: Sidecar, appId: string, path: string, schema: S): Promise<z.output<S> | undefined> {
  const result = await sidecar.invoke(appId, 'GET', path);
  if (!result.ok) {
    if (result.status === 404) return undefined;
    throw new DependencyUnavailableError(appId, result.body);
  }
  const parsed = schema.safeParse(result.body);
  if (!parsed.success) throw new DependencyUnavailableError(appId, new Error(`${appId} GET ${path} answered outside its contract`));
  return parsed.data;
}

/**
 * An account mail's recipient and a link with a token minted now (auth-service, notification-service
 * only): undefined when the request is gone (410: used, replaced or expired; 404: unknown), so
 * nothing is to be sent.
 */
async function linkOf(sidecar: Sidecar, requestId: string): Promise<AccountMailLink | undefined> {
  const result = await sidecar.invoke('auth-service', 'POST', `/accounts/mail-requests/${requestId}/link`);
  if (!result.ok) {
    if (result.status === 410 || result.status === 404) return undefined;
    throw new DependencyUnavailableError('auth-service', result.body);
  }
  const parsed = accountMailLink.safeParse(result.body);
  if (!parsed.success)
    throw new DependencyUnavailableError('auth-service', new Error('auth-service mail link answered outside its contract'));
  return parsed.data;
}

export type Peers = {
  appointment: (id: string) => Promise<AppointmentView | undefined>;
  recipient: (patientId: string) => Promise<Recipient | undefined>;
  accountMailLink: (requestId: string) => Promise<AccountMailLink | undefined>;
};

export function peersOver(sidecar: Sidecar): Peers {
  return {
    appointment: (id) => read(sidecar, 'appointment-service', `/appointments/${id}`, appointmentView),
    recipient: (patientId) => read(sidecar, 'patient-service', `/patients/${patientId}`, recipientView),
    accountMailLink: (requestId) => linkOf(sidecar, requestId),
  };
}
