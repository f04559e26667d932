import type { types } from 'mediasoup-client';
import type { Source } from '../../../protocol/sdp.ts';
import type { Requester } from './signaling.ts';

/**
 * A mediasoup-client transport wired to signaling: DTLS connect and produce go through requests. Shared by
 * the browser client and the Node bots so both exercise the same flow.
 */
export async function createTransport(
  device: types.Device,
  signaling: Requester,
  direction: 'send' | 'recv',
): Promise<types.Transport> {
  const options = await signaling.request('createTransport', { direction });
  const params = options as unknown as types.TransportOptions;
  const transport = direction === 'send' ? device.createSendTransport(params) : device.createRecvTransport(params);
  transport.on('connect', ({ dtlsParameters }, done, fail) => {
    signaling.request('connectTransport', { transportId: transport.id, dtlsParameters }).then(() => done(), fail);
  });
  if (direction === 'send') {
    transport.on('produce', ({ kind, rtpParameters, appData }, done, fail) => {
      const source = (appData as { source: Source }).source;
      signaling
        .request('produce', { transportId: transport.id, kind, source, rtpParameters })
        .then(({ producerId }) => done({ id: producerId }), fail);
    });
  }
  return transport;
}
