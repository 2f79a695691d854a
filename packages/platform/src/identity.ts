import type { Request } from 'express';
import { ForbiddenError, UnauthenticatedError } from './errors.js';

/**
 * The caller as the gateway sidecar's policy verified it (JWT checked there,
 * claims injected as headers; the gateway app strips client-sent copies).
 * Services trust these headers and nothing else about the caller.
 */
export type Identity = { userId: string; roles: string[]; patientId?: string; doctorId?: string };

export function identityOf(req: Pick<Request, 'header'>): Identity | undefined {
  const userId = req.header('x-caregrid-user-id');
  if (!userId) return undefined;
  const roles = (req.header('x-caregrid-roles') ?? '')
    .split(',')
    .map((role) => role.trim())
    .filter(Boolean);
  return {
    userId,
    roles,
    patientId: req.header('x-caregrid-patient-id') || undefined,
    doctorId: req.header('x-caregrid-doctor-id') || undefined,
  };
}

export function requireIdentity(req: Pick<Request, 'header'>): Identity {
  const identity = identityOf(req);
  if (!identity) throw new UnauthenticatedError('This route needs an authenticated caller');
  return identity;
}

export const hasRole = (identity: Identity, ...roles: string[]) => roles.some((role) => identity.roles.includes(role));

export function requireRole(identity: Identity, ...roles: string[]): void {
  if (!hasRole(identity, ...roles)) throw new ForbiddenError(`This action needs one of the roles: ${roles.join(', ')}`);
}

/**
 * Ownership: staff roles act on any record; anyone else only on a record that
 * is theirs (`owns` decides, e.g. the patient id in the token equals the record's).
 */
export function requireOwnerOrStaff(identity: Identity, staffRoles: string[], owns: (identity: Identity) => boolean): void {
  if (hasRole(identity, ...staffRoles) || owns(identity)) return;
  throw new ForbiddenError('You may only act on your own records');
}
