export * from './errors.ts';
export * from './sdp.ts';
export * from './client.ts';
export * from './media.ts';
export * from './subjects.ts';
