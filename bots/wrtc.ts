import { createRequire } from 'node:module';

/**
 * WebRTC in Node (@roamhq/wrtc), loaded once for every bot module. It is CommonJS whose exports Node's ESM
 * loader cannot name statically, so it is required.
 */
export const wrtc = createRequire(import.meta.url)('@roamhq/wrtc') as typeof import('@roamhq/wrtc');

// mediasoup-client's Chrome111 handler calls `new RTCPeerConnection()` and `new MediaStream()` as globals,
// with no way to pass them in; wrtc's implement the same W3C interfaces.
globalThis.RTCPeerConnection ??= wrtc.RTCPeerConnection;
globalThis.MediaStream ??= wrtc.MediaStream;

// A process that used wrtc's sources and tracks dies of SIGSEGV when it ends by draining its event loop (its
// native threads are torn down under it; reproduced: exit 139 every time), and ends cleanly with an explicit
// exit. So a script with bots (load test, benchmarks) ends with its own exit code instead of a crash.
process.once('beforeExit', (code) => process.exit(code));
