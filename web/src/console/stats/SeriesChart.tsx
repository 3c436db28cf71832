import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

export interface SeriesData {
  /** Unix seconds. */
  x: number[];
  series: { label: string; color: string; values: number[] }[];
}

/** uPlot draws on a canvas: thousands of buckets cost one paint, not thousands of nodes. */
export function SeriesChart({ data, height = 240 }: { data: SeriesData; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const plot = new uPlot(
      {
        width: el.clientWidth || 800,
        height,
        axes: [
          { stroke: '#8b96a5', grid: { stroke: '#2a3441' } },
          { stroke: '#8b96a5', grid: { stroke: '#2a3441' } },
        ],
        series: [{}, ...data.series.map((s) => ({ label: s.label, stroke: s.color, width: 2 }))],
      },
      [data.x, ...data.series.map((s) => s.values)],
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [data, height]);
  return <div ref={box} className="chart" data-testid="time-series" />;
}
