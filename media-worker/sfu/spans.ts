import { context, inSpan, trace, tracers } from '../../tracing/context.ts';
import type { Attributes, Context } from '../../tracing/context.ts';

/** What a media-worker span is about; each becomes a `parley.*` attribute. */
export interface MediaIds {
  room: string;
  peer?: string;
  transport?: string;
  producer?: string;
  consumer?: string;
  workerPid?: number;
}

export function mediaAttributes(ids: MediaIds): Attributes {
  const attributes: Attributes = { 'parley.room': ids.room };
  if (ids.peer) attributes['parley.peer'] = ids.peer;
  if (ids.transport) attributes['parley.transport'] = ids.transport;
  if (ids.producer) attributes['parley.producer'] = ids.producer;
  if (ids.consumer) attributes['parley.consumer'] = ids.consumer;
  if (ids.workerPid !== undefined) attributes['parley.worker.pid'] = ids.workerPid;
  return attributes;
}

/**
 * One call into mediasoup as a span `mediasoup.<call>`: a child of the served command (the traced bus makes
 * it active) or of `parent` (the doctor's remediations, in the consumer's trace). Outside any trace (lease
 * expiry, commands sent without one) no span: a root span per call would bury the traces worth reading.
 */
export async function mediasoupCall<T>(call: string, ids: MediaIds, fn: () => Promise<T> | T, parent?: Context): Promise<T> {
  if (!trace.getSpan(parent ?? context.active())) return fn();
  return inSpan(tracers.media(), `mediasoup.${call}`, { attributes: mediaAttributes(ids), parent }, () => fn());
}
