export * from './model.js';
export * from './check.js';
export * from './gateway-policy.js';
export * from './dapr-acl.js';
export * from './matrix-table.js';
export * from './tokens.js';
