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
/**
 * Unhealthy consumers and producers in one media-worker's verdict report (protocol/incidents.ts): a report of
 * the longest ids fits the NATS max payload (test/unit/limits.test.ts); an instance with more sends the first.
 */
export const MAX_VERDICT_CONSUMERS = 800;
export const MAX_VERDICT_PRODUCERS = 200;
/**
 * A client sends `reportProducerStats` this often, never sooner after the previous one: the doctor relies on the
 * spacing to tell which bytes were sent after the server's last packet (media-worker/doctor/publisher-health.ts).
 */
export const PRODUCER_REPORT_MS = 1_000;
/** Producers in one `reportProducerStats` (microphone, camera, screen, screen audio). */
export const MAX_REPORTED_PRODUCERS = 8;
/** Spans in one `reportSpans` batch. */
export const MAX_REPORTED_SPANS = 64;
/** Spans one connection may report per second on average (a browser sends a few per user action)... */
export const REPORTED_SPANS_PER_SECOND = 20;
/** ...and at once. */
export const REPORTED_SPANS_BURST = 4 * MAX_REPORTED_SPANS;

/** WebRTC transports one peer may hold at once (a client uses a send and a receive transport). */
export const MAX_TRANSPORTS_PER_PEER = 4;
/** Producers one peer may hold per source (one microphone, one camera, one screen, one screen audio). */
export const MAX_PRODUCERS_PER_SOURCE = 1;
/**
 * The highest ROOM_MAX_PARTICIPANTS accepted. With at most four producers a peer, a room part (KV) and a join
 * or snapshot reply stay under NATS's default 1 MiB max payload even with 64-character names (test/unit).
 */
export const MAX_ROOM_PARTICIPANTS = 500;
/** The NATS max payload the bounds above are sized for (nats-server's default; infra/nats sets it). */
export const NATS_MAX_PAYLOAD_BYTES = 1024 * 1024;
/** Peers in one renewLeases request: a signaling instance with more sends several. */
export const MAX_LEASES_PER_RENEWAL = 2000;
