import os from 'node:os';
import type { types } from 'mediasoup';
import { int, ip, oneOf, port, readEnv, region, subjectToken, text } from '../config/env.ts';
import type { Env } from '../config/env.ts';
import { StartupError } from '../config/startup.ts';
import { MAX_ROOM_PARTICIPANTS } from '../protocol/limits.ts';
import { DEFAULT_REGION } from '../protocol/regions.ts';

/** Everything an operator can set, read once from the environment. */
export interface MediaConfig {
  instanceId: string;
  /** PARLEY_REGION: participants who reach signaling in this region get their media here. */
  region: string;
  numWorkers: number;
  listenIp: string;
  /** The address clients reach this host on; must be set behind NAT or in a container. */
  announcedAddress: string;
  /** Where PipeTransports to other media-worker instances listen and what they announce (a private network). */
  pipeListenIp: string;
  pipeAnnouncedAddress: string;
  /** 0 = each WebRtcServer picks free ports; N = worker i listens on N+i (UDP and TCP). */
  portBase: number;
  rtcMinPort: number;
  rtcMaxPort: number;
  logLevel: types.WorkerLogLevel;
  maxPeersPerRoom: number;
  /** Consumers one worker (core) forwards before new participants go to another worker. */
  maxConsumersPerWorker: number;
  /** Port of /metrics, /healthz and /readyz; 0 = not served. */
  metricsPort: number;
  /** SIGTERM: how long rooms may take to empty before the process stops anyway. */
  drainTimeoutMs: number;
}

const mediaEnv = {
  MEDIA_INSTANCE_ID: subjectToken(),
  PARLEY_REGION: region(),
  MEDIA_WORKERS: int(1, 256),
  MEDIA_LISTEN_IP: ip(),
  MEDIA_ANNOUNCED_ADDRESS: text(),
  MEDIA_PORT_BASE: port(),
  MEDIA_PIPE_LISTEN_IP: ip(),
  MEDIA_PIPE_ANNOUNCED_ADDRESS: text(),
  MEDIA_RTC_MIN_PORT: int(1024, 65535),
  MEDIA_RTC_MAX_PORT: int(1024, 65535),
  MEDIA_LOG_LEVEL: oneOf(['debug', 'warn', 'error', 'none']),
  ROOM_MAX_PARTICIPANTS: int(1, MAX_ROOM_PARTICIPANTS),
  MEDIA_MAX_CONSUMERS_PER_WORKER: int(1),
  MEDIA_METRICS_PORT: port(),
  MEDIASOUP_WORKER_BIN: text(),
  DRAIN_TIMEOUT_MS: int(0, 7 * 24 * 60 * 60 * 1000),
};

/** Reads and validates every media-worker variable; a wrong value stops the start with its name. */
export function mediaConfigFromEnv(env: Env = process.env): MediaConfig {
  const e = readEnv(mediaEnv, env);
  const rtcMinPort = e.MEDIA_RTC_MIN_PORT ?? 40000;
  const rtcMaxPort = e.MEDIA_RTC_MAX_PORT ?? 49999;
  if (rtcMinPort > rtcMaxPort) {
    throw new StartupError(`configuration: MEDIA_RTC_MIN_PORT (${rtcMinPort}) is above MEDIA_RTC_MAX_PORT (${rtcMaxPort})`);
  }
  const numWorkers = e.MEDIA_WORKERS ?? os.availableParallelism();
  const portBase = e.MEDIA_PORT_BASE ?? 0;
  if (portBase > 0 && portBase + numWorkers - 1 > 65535) {
    throw new StartupError(`configuration: MEDIA_PORT_BASE ${portBase} + ${numWorkers} workers runs past port 65535`);
  }
  const announcedAddress = e.MEDIA_ANNOUNCED_ADDRESS ?? '127.0.0.1';
  const pipeAnnouncedAddress = e.MEDIA_PIPE_ANNOUNCED_ADDRESS ?? announcedAddress;
  return {
    instanceId:
      e.MEDIA_INSTANCE_ID ??
      `mw-${os
        .hostname()
        .replace(/[^A-Za-z0-9_-]/g, '')
        .slice(0, 40)}-${process.pid}`,
    region: e.PARLEY_REGION ?? DEFAULT_REGION,
    numWorkers,
    listenIp: e.MEDIA_LISTEN_IP ?? listenIpFor(announcedAddress),
    announcedAddress,
    portBase,
    pipeListenIp: e.MEDIA_PIPE_LISTEN_IP ?? e.MEDIA_LISTEN_IP ?? listenIpFor(pipeAnnouncedAddress),
    pipeAnnouncedAddress,
    rtcMinPort,
    rtcMaxPort,
    logLevel: e.MEDIA_LOG_LEVEL ?? 'warn',
    maxPeersPerRoom: e.ROOM_MAX_PARTICIPANTS ?? 50,
    maxConsumersPerWorker: e.MEDIA_MAX_CONSUMERS_PER_WORKER ?? 500,
    metricsPort: e.MEDIA_METRICS_PORT ?? 0,
    drainTimeoutMs: e.DRAIN_TIMEOUT_MS ?? 30_000,
  };
}

/**
 * Where to listen when no IP is set. A loopback announced address (the default: only this machine's browsers)
 * is listened on itself: no media port opens to the network, and every answer leaves from the address the
 * browser sent to. Bound to 0.0.0.0, the kernel answers a check sent from another local address (Chromium
 * tries its LAN address first) from that address; ICE drops such a non-symmetric answer, and Chromium found a
 * working pair only ~45 ms later (bench/browser-join.ts: join → first frame p50 176 ms against 133 ms).
 */
function listenIpFor(announced: string): string {
  return /^127\.|^::1$/.test(announced) ? announced : '0.0.0.0';
}

export const mediaCodecs: types.RouterRtpCodecCapability[] = [
  {
    kind: 'audio',
    mimeType: 'audio/opus',
    clockRate: 48000,
    channels: 2,
    parameters: { useinbandfec: 1, usedtx: 1 },
  },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000, parameters: { 'x-google-start-bitrate': 1000 } },
  { kind: 'video', mimeType: 'video/VP9', clockRate: 90000, parameters: { 'profile-id': 2 } },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  },
];
