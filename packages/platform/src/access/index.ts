export * from './model.js';
export * from './check.js';
export * from './policy.js';
export * from './tokens.js';
