import type { HealthCause, Remediation } from '../../protocol/health.ts';

/*
 * What a viewer reads on a black or frozen tile: the doctor's cause in plain words, and the repair under way.
 * Every such sentence of the UI is here, keyed by cause and repair, so translating them is one file. `{name}`
 * is the publisher's display name.
 */

export const causeWords: Record<HealthCause, string> = {
  'codec-unsupported': 'Your browser cannot play this video format.',
  'producer-closed': 'This video has ended.',
  'no-relay-candidates': 'Media can only go through a relay server here, and the relay server refused the connection.',
  'transport-not-connected': 'Your connection to the media server dropped.',
  'producer-paused': '{name} paused this video.',
  'consumer-never-resumed': 'The video was not started.',
  'publisher-uplink-lost': '{name}’s connection dropped.',
  'track-ended': '{name}’s camera stopped.',
  'track-muted': '{name}’s camera is blocked on their device.',
  'screen-share-paused': '{name}’s screen share is paused.',
  'encoder-stalled': '{name}’s camera froze.',
  'publisher-bandwidth-limited': '{name}’s connection is too slow for this quality.',
  'publisher-cpu-limited': '{name}’s computer is overloaded.',
  'no-rtp-from-producer': 'No video is arriving from {name}.',
  'layer-unavailable': 'Your connection is too slow for this video.',
  'no-key-frame': 'Waiting for a full picture from {name}.',
  'decoder-stall': 'Your browser stopped showing this video.',
};

export const repairWords: Record<Remediation, string> = {
  'request-key-frame': 'Asking for a fresh picture…',
  'resume-consumer': 'Starting the video…',
  'restart-ice': 'Reconnecting…',
  'reset-media': 'Rebuilding the connection…',
  reconsume: 'Reloading the video…',
  'close-consumer': 'Removing it…',
  'set-preferred-layers': 'Switching to a lower quality…',
  'lower-top-layer': 'Sending a lower quality…',
  'restart-send-ice': 'Reconnecting them…',
  'reacquire-track': 'Restarting their camera…',
};

export const reportWords = {
  /** The button saves a JSON file for the user to send to whoever runs the server. */
  button: 'Report a problem',
  failed: 'Could not build the report',
};

export function describeCause(cause: HealthCause, name: string): string {
  return causeWords[cause].replace('{name}', name);
}

export function describeRepair(repair: string | null): string | null {
  return repair && repair in repairWords ? repairWords[repair as Remediation] : null;
}
