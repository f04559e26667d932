import type { Bus, Headers } from '../bus/bus.ts';
import { mediaCommands } from '../protocol/media.ts';
import type { MediaCommand, MediaRequest, MediaResponse } from '../protocol/media.ts';
import { subjects } from '../protocol/subjects.ts';
import { isCode } from './memberships/errors.ts';

/** A media-worker answers a ping in milliseconds; one silent this long is taken for gone (host down, cut link). */
const PROBE_TIMEOUT_MS = 1000;

/** Typed calls to one media-worker instance; replies are validated like any other input. */
export class MediaClient {
  constructor(private bus: Bus) {}

  async call<C extends MediaCommand>(
    instanceId: string,
    command: C,
    request: MediaRequest<C>,
    headers?: Headers,
    timeoutMs?: number,
  ): Promise<MediaResponse<C>> {
    const reply = await this.bus.request(subjects.mediaCommand(instanceId, command), request, { headers, timeoutMs });
    return mediaCommands[command].response.parse(reply) as MediaResponse<C>;
  }

  /**
   * Whether the instance answers at all: any reply, an error too. No responder (the process is gone) or silence
   * (a host that vanished keeps its NATS interest until the server's ping timeout) is no.
   */
  answers(instanceId: string): Promise<boolean> {
    return this.call(instanceId, 'ping', {}, undefined, PROBE_TIMEOUT_MS).then(
      () => true,
      (err: unknown) => !isCode(err, 'TIMEOUT') && !isCode(err, 'UNAVAILABLE'),
    );
  }
}
