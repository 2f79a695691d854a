/** Roles carried in access tokens and enforced by the gateway policy and the services. */
export const ROLES = ['admin', 'receptionist', 'doctor', 'patient'] as const;
export type Role = (typeof ROLES)[number];

/** Access-token claims that every verifier (gateway policy, tests) checks. */
export const TOKEN_ISSUER = 'caregrid-auth';
export const TOKEN_AUDIENCE = 'caregrid';
