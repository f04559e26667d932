/**
 * WebSocket close codes signaling uses on purpose. 4xxx are ours; 1009 and 1012 are RFC 6455's "message too
 * big" and "service restart". `closeCodeMeaning` says what a client does about each.
 */
export const CloseCode = {
  messageTooBig: 1009,
  restarting: 1012,
  badVersion: 4400,
  unauthorized: 4401,
  resumedElsewhere: 4409,
  mediaLost: 4410,
  tooManyConnections: 4429,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

export const closeCodeMeaning: Record<keyof typeof CloseCode, string> = {
  messageTooBig: 'a frame over the message size limit: a client bug, not a network fault; do not retry it',
  restarting: 'the instance is draining: reconnect (to another one) and resume',
  badVersion: 'the client speaks another protocol version: reload',
  unauthorized: 'no, a forged or an expired token (also when it expires on an open connection): reconnect with a fresh one',
  resumedElsewhere: 'the membership was resumed on another connection (another tab or device): stop',
  mediaLost: 'the media server lost this membership: join again',
  tooManyConnections:
    'this identity (or this address) already has as many open connections as allowed: close another one (a tab) first; do not retry in a loop',
};
