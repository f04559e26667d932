import type { Context } from '@opentelemetry/api';
import type { Requester } from '../client/index.ts';
import type { ClientMethod, ClientNotification, ClientRequestData, ClientResponseData } from '../protocol/client.ts';
import type { ClientConsumerStats } from '../protocol/telemetry.ts';
import type { RtpParameters } from '../protocol/webrtc.ts';

/**
 * Ways a bot misbehaves on purpose, so tests can show the black-screen doctor each fault with real processes
 * and real media. Test-only, and all here: they act through the client SDK's request middleware and
 * notification filter, so the client itself (client/) knows nothing of them. The bot reads its faults live,
 * so a test may switch one on mid-call by changing the object it passed.
 */
export interface BotFaults {
  /** Never resume consumers (the server creates them paused): consumer-never-resumed. */
  neverResume?: boolean;
  /** Keep showing (and reporting) consumers whose producer or consumer the server said closed: producer-closed. */
  keepClosedConsumers?: boolean;
  /** Consume with these codecs (mime types, e.g. 'video/VP8') left out of the RTP capabilities: codec-unsupported. */
  withoutCodecs?: string[];
  /**
   * The first receive transport's `connectTransport` (its DTLS parameters) is lost on the way: never sent, never
   * answered, so that transport never connects (transport-not-connected). Once: transports rebuilt after a
   * mediaReset connect.
   */
  lostFirstRecvConnect?: boolean;
  /**
   * Produce video with `nack pli` and `ccm fir` left out of the RTP parameters the server gets, as a sender that
   * cannot be asked for key frames: the SFU never asks, and a viewer who comes after the first key frame waits
   * for one (no-key-frame).
   */
  deafToKeyFrameRequests?: boolean;
  /**
   * This consumer's decoder hangs: from the next report on, packetsReceived keeps advancing but framesDecoded
   * stays where it was (decoder-stall). wrtc's decoder cannot be stalled from JS, so the fault sits at the
   * boundary the doctor reads. Another consumer of the same producer (a reconsume) decodes.
   */
  frozenDecoder?: string;
}

export type FaultName = keyof BotFaults;

/** One bot's faults: what they change, and when each first took effect. */
export class FaultInjector {
  /** Epoch ms at which each fault first took effect (for a lost connect: when that transport was created). */
  readonly onsets: Partial<Record<FaultName, number>> = {};
  /** The receive transport whose connect is lost, once claimed. */
  private losing?: string;
  private connectLost = false;
  /** framesDecoded at the freeze, by consumer id. */
  private frozenFrames = new Map<string, number>();

  constructor(readonly faults: BotFaults) {}

  /** The client's request middleware: every request passes through the faults on its way. */
  readonly middleware = (next: Requester): Requester => ({
    request: async <M extends ClientMethod>(method: M, data: ClientRequestData<M>, trace?: Context) => {
      const { faults, onsets } = this;
      if (method === 'resumeConsumer' && faults.neverResume) {
        onsets.neverResume ??= Date.now();
        return {} as ClientResponseData<M>;
      }
      if (method === 'connectTransport' && (data as ClientRequestData<'connectTransport'>).transportId === this.losing) {
        return new Promise<never>(() => undefined);
      }
      const response = await next.request(method, this.alter(method, data), trace);
      if (method === 'createTransport') this.claimLostConnect(data as ClientRequestData<'createTransport'>, response);
      return response;
    },
  });

  /** The client's notification filter: a bot that keeps closed consumers does not hear that they closed. */
  readonly acceptNotification = (n: ClientNotification): boolean =>
    !(this.faults.keepClosedConsumers && (n.notification === 'producerClosed' || n.notification === 'consumerClosed'));

  private alter<M extends ClientMethod>(method: M, data: ClientRequestData<M>): ClientRequestData<M> {
    const { faults, onsets } = this;
    if (method === 'produce' && faults.deafToKeyFrameRequests) {
      const produce = data as ClientRequestData<'produce'>;
      if (produce.kind !== 'video') return data;
      onsets.deafToKeyFrameRequests ??= Date.now();
      return { ...produce, rtpParameters: deaf(produce.rtpParameters) } as ClientRequestData<M>;
    }
    if (method === 'consume' && faults.withoutCodecs?.length) {
      const consume = data as ClientRequestData<'consume'>;
      return { ...consume, rtpCapabilities: without(consume.rtpCapabilities, faults.withoutCodecs) } as ClientRequestData<M>;
    }
    if (method === 'reportConsumerStats' && faults.frozenDecoder !== undefined) {
      const { consumers } = data as ClientRequestData<'reportConsumerStats'>;
      return { consumers: this.freeze(consumers, faults.frozenDecoder) } as ClientRequestData<M>;
    }
    return data;
  }

  /** Claimed at creation, so only the first receive transport loses its connect. */
  private claimLostConnect(request: ClientRequestData<'createTransport'>, response: unknown): void {
    if (request.direction !== 'recv' || !this.faults.lostFirstRecvConnect || this.connectLost) return;
    this.connectLost = true;
    this.losing = (response as { id: string }).id;
    this.onsets.lostFirstRecvConnect = Date.now();
  }

  /** The report as a hung decoder makes it: the frozen consumer's framesDecoded stops. */
  private freeze(consumers: ClientConsumerStats[], frozen: string): ClientConsumerStats[] {
    return consumers.map((stats) => {
      if (stats.consumerId !== frozen || stats.framesDecoded === undefined) return stats;
      if (!this.frozenFrames.has(frozen)) {
        this.frozenFrames.set(frozen, stats.framesDecoded);
        this.onsets.frozenDecoder ??= Date.now();
      }
      return { ...stats, framesDecoded: this.frozenFrames.get(frozen) };
    });
  }
}

/** RTP parameters without the feedback by which a receiver (the SFU) asks for a key frame. */
function deaf(rtp: RtpParameters): RtpParameters {
  const asksForKeyFrame = (fb: { type: string; parameter?: string }) =>
    (fb.type === 'nack' && fb.parameter === 'pli') || (fb.type === 'ccm' && fb.parameter === 'fir');
  return {
    ...rtp,
    codecs: rtp.codecs.map((c) => ({ ...c, rtcpFeedback: c.rtcpFeedback?.filter((fb) => !asksForKeyFrame(fb)) })),
  };
}

/** Receive capabilities less some codecs (mime types) and their RTX. */
function without(capabilities: Record<string, unknown>, mimeTypes: string[]): Record<string, unknown> {
  const left = new Set(mimeTypes.map((m) => m.toLowerCase()));
  type Codec = { mimeType: string; preferredPayloadType?: number; parameters?: Record<string, unknown> };
  const codecs = (capabilities.codecs as Codec[] | undefined) ?? [];
  const dropped = new Set(codecs.filter((c) => left.has(c.mimeType.toLowerCase())).map((c) => c.preferredPayloadType));
  const kept = codecs.filter((c) => !left.has(c.mimeType.toLowerCase()) && !dropped.has(Number(c.parameters?.apt)));
  return { ...capabilities, codecs: kept };
}
