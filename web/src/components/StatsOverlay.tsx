import { useEffect, useRef, useState } from 'preact/hooks';
import { formatStats, summarize } from '../../../client/index.ts';
import type { Sample, StatsRows } from '../../../client/index.ts';

interface Props {
  /** The rows to read each second: a consumer's latest sample, or a producer's getStats(). */
  read: () => Promise<StatsRows | undefined> | StatsRows | undefined;
}

/** Resolution, frame rate, bitrate, loss and codec of one tile, refreshed every second while shown. */
export function StatsOverlay({ read }: Props) {
  const [lines, setLines] = useState<string[]>(['…']);
  // The latest reader, without restarting the sampling (and losing the bitrate baseline) on each render.
  const reader = useRef(read);
  reader.current = read;
  useEffect(() => {
    let prev: Sample | undefined;
    let stopped = false;
    const tick = async () => {
      const report = await Promise.resolve(reader.current()).catch(() => undefined);
      if (stopped || !report) return;
      const { stats, sample } = summarize(report, prev);
      // The same shared sample as last time: keep the lines (a rate needs two different samples).
      if (prev && sample.at === prev.at) return;
      prev = sample;
      setLines(formatStats(stats));
    };
    void tick();
    const timer = setInterval(() => void tick(), 1000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);
  return (
    <div class="stats" data-testid="stats">
      {lines.map((line) => (
        <div key={line}>{line}</div>
      ))}
    </div>
  );
}
