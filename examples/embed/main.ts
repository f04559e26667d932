import { browserNetworkWatch, mediaDevicesCapture, memoryStore, ParleyClient } from '../../client/index.ts';
import type { RemotePeer } from '../../client/index.ts';

/*
 * A page of an integrator's own site that puts a Parley room on it with nothing but the client SDK. Open it as
 * …/#server=https://parley.example.com&token=<a room-scoped access token minted by the integrator's backend>.
 */
const params = new URLSearchParams(location.hash.slice(1));
history.replaceState(null, '', location.pathname); // the token must not stay in the address bar
const status = document.getElementById('status')!;
const peers = document.getElementById('peers')!;

const store = memoryStore((key) => key === 'peers' && show(store.get('peers')));
const client = await ParleyClient.connect({
  url: params.get('server') ?? location.origin,
  token: params.get('token') ?? '',
  capture: mediaDevicesCapture(),
  store,
  network: browserNetworkWatch(), // reacts to network changes at once instead of waiting for ICE to fail
});
client.on('error', (e) => (status.textContent = `Problem: ${e.kind}`));
const call = await client.join(undefined, { publish: ['microphone', 'camera'] });
status.textContent = `In ${call.room}`;

/** One figure per remote participant: their camera (muted video) and their audio. */
function show(list: RemotePeer[]): void {
  peers.replaceChildren(
    ...list.map((peer) => {
      const figure = document.createElement('figure');
      figure.dataset.peer = peer.displayName;
      const video = Object.assign(document.createElement('video'), { autoplay: true, muted: true, playsInline: true });
      const audio = Object.assign(document.createElement('audio'), { autoplay: true });
      video.srcObject = new MediaStream(peer.tracks.filter((t) => t.source === 'camera').map((t) => t.track));
      audio.srcObject = new MediaStream(peer.tracks.filter((t) => t.track.kind === 'audio').map((t) => t.track));
      const caption = Object.assign(document.createElement('figcaption'), { textContent: peer.displayName });
      figure.append(video, audio, caption);
      return figure;
    }),
  );
}
