import type { Context } from '@opentelemetry/api';
import type { types } from 'mediasoup-client';
import type { Source } from '../protocol/room.ts';
import type { Requester } from './socket.ts';

/** What a `transport.produce()` caller passes as appData: the source, and the action it belongs to. */
export interface ProduceAppData extends types.AppData {
  source: Source;
  trace?: Context;
}

/**
 * A mediasoup-client transport wired to signaling: DTLS connect and produce go through requests; `ice` is the
 * host's candidate policy. The TURN servers come with the transport, their credentials as fresh as it. `trace` is
 * the action creating it; the DTLS connect (on first use) is part of that transport's setup, so it belongs to
 * the same trace.
 */
export async function createTransport(
  device: types.Device,
  signaling: Requester,
  direction: 'send' | 'recv',
  trace?: Context,
  ice: Pick<types.TransportOptions, 'iceTransportPolicy'> = {},
): Promise<types.Transport> {
  const { iceServers, ...options } = await signaling.request('createTransport', { direction }, trace);
  const params = { ...(options as unknown as types.TransportOptions), ...ice, ...(iceServers && { iceServers }) };
  const transport = direction === 'send' ? device.createSendTransport(params) : device.createRecvTransport(params);
  transport.on('connect', ({ dtlsParameters }, done, fail) => {
    signaling.request('connectTransport', { transportId: transport.id, dtlsParameters }, trace).then(() => done(), fail);
  });
  if (direction === 'send') {
    transport.on('produce', ({ kind, rtpParameters, appData }, done, fail) => {
      const { source, trace: produceTrace } = appData as ProduceAppData;
      signaling
        .request('produce', { transportId: transport.id, kind, source, rtpParameters }, produceTrace)
        .then(({ producerId }) => done({ id: producerId }), fail);
    });
  }
  return transport;
}
