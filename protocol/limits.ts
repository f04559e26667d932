/** Limits every tier agrees on: the client stays within them, signaling and the media worker enforce them. */

/**
 * Larger WebSocket messages (UTF-8 bytes) are refused before they are buffered, with close code 1009 (an
 * SDP-sized payload is a few KiB).
 */
export const MAX_CLIENT_MESSAGE_BYTES = 64 * 1024;
/** Objects and arrays nested deeper than this in a client message are a BAD_REQUEST (real requests use < 10). */
export const MAX_JSON_DEPTH = 32;
/** Consumers in one `reportConsumerStats` (a client showing more reports the first ones). */
export const MAX_REPORTED_CONSUMERS = 256;
/** Spans in one `reportSpans` batch. */
export const MAX_REPORTED_SPANS = 64;
/** Spans one connection may report per second on average (a browser sends a few per user action)... */
export const REPORTED_SPANS_PER_SECOND = 20;
/** ...and at once. */
export const REPORTED_SPANS_BURST = 4 * MAX_REPORTED_SPANS;
