export * from './codes.js';
export * from './digest.js';
export * from './encode.js';
export * from './parse.js';
export type * from './types.js';
