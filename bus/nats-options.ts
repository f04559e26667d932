/**
 * Connection options every NATS client of ours uses, on Node (TCP) and Deno (WebSocket) alike. Reconnect fast
 * and forever: a restarted nats-server is back in a second, and every request waits for us.
 */
export const NATS_RECONNECT = { maxReconnectAttempts: -1, reconnectTimeWait: 250, reconnectJitter: 100 } as const;
