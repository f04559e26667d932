import { Call } from './media/call.ts';
import { errorMessage, phase, roomName, selfName } from './state.ts';

/** The current call, if any; exposed on window for the debug overlay and the end-to-end tests. */
let current: Call | undefined;

declare global {
  interface Window {
    parley?: { call?: Call };
  }
}

export async function joinRoom(room: string, name: string): Promise<void> {
  errorMessage.value = null;
  phase.value = 'joining';
  roomName.value = room;
  selfName.value = name;
  try {
    current = await Call.join(room, await accessToken(name));
    window.parley = { call: current };
    phase.value = 'joined';
    await current.publish('microphone').catch(reportDeviceError('microphone'));
    await current.publish('camera').catch(reportDeviceError('camera'));
  } catch (err) {
    phase.value = 'lobby';
    errorMessage.value = `could not join ${room}: ${(err as Error).message}`;
  }
}

export async function leaveRoom(): Promise<void> {
  await current?.leave();
  current = undefined;
}

export function currentCall(): Call | undefined {
  return current;
}

/**
 * A deployment hands users a token (e.g. in the page URL, `?token=`); the embedded default also offers
 * development tokens for any name.
 */
async function accessToken(name: string): Promise<string> {
  const given = new URLSearchParams(location.search).get('token');
  if (given) return given;
  const res = await fetch('/api/dev/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (!res.ok) throw new Error('this server needs an access token in the page address (?token=…)');
  return ((await res.json()) as { token: string }).token;
}

function reportDeviceError(device: string) {
  return (err: Error) => {
    errorMessage.value =
      err.name === 'NotAllowedError'
        ? `permission to use the ${device} was denied`
        : err.name === 'NotFoundError'
          ? `no ${device} found`
          : `${device}: ${err.message}`;
  };
}
