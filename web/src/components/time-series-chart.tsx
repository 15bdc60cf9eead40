import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** A colour of the dashboard's palette, read from its CSS custom properties (so dark mode applies). */
export type ChartColour = 'first' | 'second' | 'third' | 'danger';

export interface ChartSeries {
  label: string;
  values: number[];
  colour: ChartColour;
}

export interface TimeSeriesChartProps {
  title: string;
  /** UTC days (`YYYY-MM-DD`), one per value of every series. */
  days: string[];
  series: ChartSeries[];
  format: (value: number) => string;
  /** Counts: ticks only at whole numbers. */
  integer?: boolean;
}

/** Tick steps for counts: 1, 2, 5, 10, 20, 50, … (never 0.5 requests). */
const integerSteps = Array.from({ length: 12 }, (_, power) => [1, 2, 5].map((step) => step * 10 ** power)).flat();

function cssColour(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(`--chart-${name}`).trim() || '#888';
}

/** Re-renders when the operating system switches between light and dark. */
function useColourScheme(): string {
  const query = matchMedia('(prefers-color-scheme: dark)');
  const [scheme, setScheme] = useState(query.matches ? 'dark' : 'light');
  useEffect(() => {
    const onChange = (event: MediaQueryListEvent) => setScheme(event.matches ? 'dark' : 'light');
    query.addEventListener('change', onChange);
    return () => query.removeEventListener('change', onChange);
  }, []);
  return scheme;
}

/**
 * A daily time series drawn by uPlot (canvas, ~50 kB, no dependencies), sized to its container.
 * Canvas is invisible to screen readers, so the same numbers are in a table under the chart, and
 * the figure has a one-line summary as its label.
 */
export function TimeSeriesChart(props: TimeSeriesChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const scheme = useColourScheme();

  useEffect(() => {
    const element = container.current;
    if (element === null) return undefined;
    const axis = { stroke: cssColour('axis'), grid: { stroke: cssColour('grid'), width: 1 }, ticks: { stroke: cssColour('grid'), width: 1 } };
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 200),
      height: 220,
      // Days are UTC days; labels must not shift by the browser's time zone.
      tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC'),
      cursor: { drag: { x: false, y: false } },
      // The legend names the series; exact values are in the table below the chart.
      legend: { live: false },
      scales: { x: { time: true }, y: { range: (_plot, _min, max) => [0, max > 0 ? max * 1.15 : 1] } },
      axes: [
        { ...axis, values: (_plot, ticks) => ticks.map((tick) => new Date(tick * 1000).toISOString().slice(5, 10)) },
        { ...axis, size: 72, ...(props.integer === true ? { incrs: integerSteps } : {}), values: (_plot, ticks) => ticks.map((tick) => props.format(tick)) },
      ],
      series: [
        { label: 'Day', value: (_plot, seconds) => (seconds === null ? '—' : new Date(seconds * 1000).toISOString().slice(0, 10)) },
        ...props.series.map((series) => ({
          label: series.label,
          stroke: cssColour(series.colour),
          fill: `${cssColour(series.colour)}22`,
          width: 2,
          points: { show: true, size: 6 },
          value: (_plot: uPlot, value: number | null) => (value === null ? '—' : props.format(value)),
        })),
      ],
    };
    const data: uPlot.AlignedData = [props.days.map((day) => Date.parse(`${day}T00:00:00Z`) / 1000), ...props.series.map((series) => series.values)];
    const plot = new uPlot(options, data, element);
    const observer = new ResizeObserver(() => plot.setSize({ width: Math.max(element.clientWidth, 200), height: 220 }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [props.days, props.series, props.format, props.integer, scheme]);

  const totals = props.series.map((series) => `${series.label} ${props.format(series.values.reduce((sum, value) => sum + value, 0))}`);
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={container} class="chart-canvas" role="img" aria-label={`${props.title}: ${props.days.length} days, totals ${totals.join(', ')}`} />
      <details>
        <summary>Data table</summary>
        <div class="table-scroll" tabIndex={0} role="region" aria-label={`${props.title}, table`}>
          <table>
            <thead>
              <tr>
                <th scope="col">Day (UTC)</th>
                {props.series.map((series) => (
                  <th scope="col" key={series.label}>
                    {series.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {props.days.map((day, index) => (
                <tr key={day}>
                  <th scope="row">{day}</th>
                  {props.series.map((series) => (
                    <td key={series.label}>{props.format(series.values[index] ?? 0)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
