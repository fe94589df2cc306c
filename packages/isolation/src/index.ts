/**
 * @ippc/isolation: the isolation provider (placeholder entry, filled in below).
 */
export * from './errors.js';
export * from './ip.js';
export * from './model.js';
export * from './policy.js';
