import type { Context } from '@opentelemetry/api';
import type { ClientMethod, ClientRequestData, ClientResponseData } from '../protocol/client.ts';
import type { RtpParameters } from '../protocol/webrtc.ts';
import type { ClientConsumerStats } from '../protocol/telemetry.ts';
import type { Requester } from '../web/src/media/signaling.ts';

/**
 * Ways a bot misbehaves on purpose, so tests can show the black-screen doctor each fault with real processes
 * and real media. Test-only, and all here: the product's code paths (web/, signaling/) know nothing of them.
 * The bot reads its faults live, so a test may switch one on mid-call by changing the object it passed.
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
  private connectLost = false;
  /** framesDecoded at the freeze, by consumer id. */
  private frozenFrames = new Map<string, number>();

  constructor(readonly faults: BotFaults) {}

  /** What a new transport talks to signaling through: `signaling`, with the faults of its direction. */
  requester(signaling: Requester, direction: 'send' | 'recv'): Requester {
    // Claimed at creation, so only the first receive transport loses its connect.
    let loseConnect = direction === 'recv' && this.faults.lostFirstRecvConnect === true && !this.connectLost;
    if (loseConnect) this.connectLost = true;
    const { faults, onsets } = this;
    return {
      async request<M extends ClientMethod>(
        method: M,
        data: ClientRequestData<M>,
        trace?: Context,
      ): Promise<ClientResponseData<M>> {
        if (method === 'connectTransport' && loseConnect) {
          loseConnect = false;
          return new Promise<never>(() => undefined);
        }
        let sent = data;
        if (method === 'produce' && faults.deafToKeyFrameRequests) {
          const produce = data as ClientRequestData<'produce'>;
          if (produce.kind === 'video') {
            sent = { ...produce, rtpParameters: deaf(produce.rtpParameters) } as ClientRequestData<M>;
            onsets.deafToKeyFrameRequests ??= Date.now();
          }
        }
        const response = await signaling.request(method, sent, trace);
        if (method === 'createTransport' && loseConnect) onsets.lostFirstRecvConnect = Date.now();
        return response;
      },
    };
  }

  /** The bot's report as a hung decoder makes it: the frozen consumer's framesDecoded stops. */
  report(consumers: ClientConsumerStats[], at: number): ClientConsumerStats[] {
    const frozen = this.faults.frozenDecoder;
    if (frozen === undefined) return consumers;
    return consumers.map((stats) => {
      if (stats.consumerId !== frozen || stats.framesDecoded === undefined) return stats;
      if (!this.frozenFrames.has(frozen)) {
        this.frozenFrames.set(frozen, stats.framesDecoded);
        this.onsets.frozenDecoder ??= at;
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
