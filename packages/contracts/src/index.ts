export * from './core.js';
export * from './fields.js';
export * from './patients.js';
export * from './doctors.js';
export * from './auth.js';
export * from './appointments.js';
export * from './invoices.js';
export * from './audit.js';
