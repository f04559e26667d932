/** Limits every tier agrees on: the client stays within them, signaling and the media worker enforce them. */

/** Larger WebSocket messages are refused before they are buffered (an SDP-sized payload is a few KiB). */
export const MAX_CLIENT_MESSAGE_BYTES = 64 * 1024;
/** Consumers in one `reportConsumerStats` (a client showing more reports the first ones). */
export const MAX_REPORTED_CONSUMERS = 256;
/** Producers in one `reportProducerStats` (microphone, camera, screen, screen audio). */
export const MAX_REPORTED_PRODUCERS = 8;
/** Spans in one `reportSpans` batch. */
export const MAX_REPORTED_SPANS = 64;
