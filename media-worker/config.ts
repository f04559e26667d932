import os from 'node:os';
import type { types } from 'mediasoup';

/** Everything an operator can set, read once from the environment. */
export interface MediaConfig {
  instanceId: string;
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
}

export function mediaConfigFromEnv(env: NodeJS.ProcessEnv = process.env): MediaConfig {
  return {
    instanceId: env.MEDIA_INSTANCE_ID ?? `mw-${os.hostname().replace(/[^A-Za-z0-9_-]/g, '')}-${process.pid}`,
    numWorkers: positiveInt(env.MEDIA_WORKERS) ?? os.availableParallelism(),
    listenIp: env.MEDIA_LISTEN_IP ?? '0.0.0.0',
    announcedAddress: env.MEDIA_ANNOUNCED_ADDRESS ?? '127.0.0.1',
    portBase: positiveInt(env.MEDIA_PORT_BASE) ?? 0,
    pipeListenIp: env.MEDIA_PIPE_LISTEN_IP ?? env.MEDIA_LISTEN_IP ?? '0.0.0.0',
    pipeAnnouncedAddress: env.MEDIA_PIPE_ANNOUNCED_ADDRESS ?? env.MEDIA_ANNOUNCED_ADDRESS ?? '127.0.0.1',
    rtcMinPort: positiveInt(env.MEDIA_RTC_MIN_PORT) ?? 40000,
    rtcMaxPort: positiveInt(env.MEDIA_RTC_MAX_PORT) ?? 49999,
    logLevel: (env.MEDIA_LOG_LEVEL as types.WorkerLogLevel | undefined) ?? 'warn',
    maxPeersPerRoom: positiveInt(env.ROOM_MAX_PARTICIPANTS) ?? 50,
    maxConsumersPerWorker: positiveInt(env.MEDIA_MAX_CONSUMERS_PER_WORKER) ?? 500,
    metricsPort: positiveInt(env.MEDIA_METRICS_PORT) ?? 0,
  };
}

function positiveInt(value: string | undefined): number | undefined {
  const n = Number(value);
  return value && Number.isInteger(n) && n >= 0 ? n : undefined;
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
