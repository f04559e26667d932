import { z } from 'zod';
import { ParleyError } from './errors.ts';
import { Id, MediaKind, Source } from './room.ts';

/*
 * The WebRTC parameter objects that cross every tier. mediasoup validates them deeply; these schemas check
 * the outer shape so malformed input is refused at the edge with a clear path, and keep unknown fields.
 */

const RtpCodec = z.looseObject({
  mimeType: z.string().max(64),
  clockRate: z.number().int().positive(),
  payloadType: z.number().int().min(0).max(127).optional(),
  preferredPayloadType: z.number().int().min(0).max(127).optional(),
  channels: z.number().int().positive().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  rtcpFeedback: z
    .array(z.looseObject({ type: z.string(), parameter: z.string().optional() }))
    .max(32)
    .optional(),
});

const HeaderExtension = z.looseObject({ uri: z.string().max(256) });

export const RtpCapabilities = z.looseObject({
  codecs: z.array(RtpCodec).max(128).optional(),
  headerExtensions: z.array(HeaderExtension).max(64).optional(),
});
export type RtpCapabilities = z.infer<typeof RtpCapabilities>;

export const RtpParameters = z.looseObject({
  mid: z.string().max(32).optional(),
  codecs: z.array(RtpCodec).max(32),
  headerExtensions: z.array(HeaderExtension).max(64).optional(),
  encodings: z.array(z.looseObject({})).max(8).optional(),
  rtcp: z.looseObject({}).optional(),
});
export type RtpParameters = z.infer<typeof RtpParameters>;

/**
 * Every codec of a producer must be of its kind (mediasoup itself accepts VP8 in an "audio" producer, which
 * would carry video past a microphone-only grant). BAD_REQUEST: the parameters contradict themselves.
 */
export function assertCodecsOfKind(kind: MediaKind, rtpParameters: RtpParameters): void {
  const other = rtpParameters.codecs.find((c) => !c.mimeType.toLowerCase().startsWith(`${kind}/`));
  if (other) throw new ParleyError('BAD_REQUEST', `${kind} producers cannot carry ${other.mimeType}`);
}

export const DtlsParameters = z.looseObject({
  role: z.enum(['auto', 'client', 'server']).optional(),
  fingerprints: z
    .array(z.object({ algorithm: z.string().max(16), value: z.string().max(256) }))
    .min(1)
    .max(8),
});
export type DtlsParameters = z.infer<typeof DtlsParameters>;

export const IceParameters = z.looseObject({
  usernameFragment: z.string(),
  password: z.string(),
  iceLite: z.boolean().optional(),
});

export const IceCandidate = z.looseObject({
  foundation: z.string(),
  priority: z.number(),
  address: z.string(),
  protocol: z.enum(['udp', 'tcp']),
  port: z.number().int(),
  type: z.string(),
});

export const TransportOptions = z.object({
  id: Id,
  iceParameters: IceParameters,
  iceCandidates: z.array(IceCandidate),
  dtlsParameters: DtlsParameters,
});
export type TransportOptions = z.infer<typeof TransportOptions>;

export const ConsumerOptions = z.object({
  id: Id,
  producerId: Id,
  peerId: Id,
  kind: MediaKind,
  source: Source,
  rtpParameters: RtpParameters,
});
export type ConsumerOptions = z.infer<typeof ConsumerOptions>;
