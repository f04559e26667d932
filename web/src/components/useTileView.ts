import { useEffect } from 'preact/hooks';
import type { RefObject } from 'preact';
import { currentCall } from '../actions.ts';

/**
 * Tells the call how a consumer's tile is shown: hidden (off screen, or the tab in the background) pauses
 * it; its height in device pixels picks the simulcast layer.
 */
export function useTileView(ref: RefObject<HTMLElement>, consumerId: string | undefined): void {
  useEffect(() => {
    const el = ref.current;
    if (!el || !consumerId) return;
    let onScreen = true;
    let height = el.getBoundingClientRect().height;
    const report = () =>
      currentCall()?.setTileView(consumerId, {
        visible: onScreen && document.visibilityState === 'visible',
        height: Math.round(height * devicePixelRatio),
      });
    const intersection = new IntersectionObserver((entries) => {
      onScreen = entries.some((e) => e.isIntersecting);
      report();
    });
    const resize = new ResizeObserver((entries) => {
      height = entries[0]?.contentRect.height ?? height;
      report();
    });
    intersection.observe(el);
    resize.observe(el);
    document.addEventListener('visibilitychange', report);
    report();
    return () => {
      intersection.disconnect();
      resize.disconnect();
      document.removeEventListener('visibilitychange', report);
    };
  }, [consumerId]);
}
