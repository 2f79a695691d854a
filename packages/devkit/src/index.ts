export * from './daprd.js';
export * from './infra.js';
export * from './paths.js';
export * from './processes.js';
export * from './provision.js';
export * from './runfile.js';
export * from './testing.js';
