import type { Bus, Headers } from '../bus/bus.ts';
import { mediaCommands } from '../protocol/media.ts';
import type { MediaCommand, MediaRequest, MediaResponse } from '../protocol/media.ts';
import { subjects } from '../protocol/subjects.ts';

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
}
