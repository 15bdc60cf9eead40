import type { Registry } from 'prom-client';

/**
 * Counters and histograms for the metrics written on every request. prom-client's own classes hash
 * and validate the labels object on each call (a sort and a check per label); these keep one series
 * per label values in a map keyed by the values joined, so a request costs a map lookup and a few
 * additions. They expose themselves to a prom-client registry in its format, beside its own metrics.
 */
abstract class RequestSeries<T> {
  readonly aggregator = 'sum';
  private readonly series = new Map<string, T>();
  /** Called when the series are dropped (a registry reset), for whoever keeps series found earlier. */
  onReset: (() => void) | undefined;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** The series of these label values, given in the order of the label names (kept until a reset). */
  at(values: readonly string[]): T {
    const key = values.length === 1 ? (values[0] as string) : values.join('\u0001');
    let found = this.series.get(key);
    if (found === undefined) {
      if (values.length !== this.labelNames.length) throw new Error(`${this.name}: expected ${this.labelNames.length} label values, got ${values.length}`);
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, index) => (labels[name] = values[index] as string));
      found = this.create(labels);
      this.series.set(key, found);
    }
    return found;
  }

  protected all(): IterableIterator<T> {
    return this.series.values();
  }

  protected abstract create(labels: Record<string, string>): T;

  reset(): void {
    this.series.clear();
    this.onReset?.();
  }
}

export interface CounterSeries {
  labels: Record<string, string>;
  value: number;
}

export class RequestCounter extends RequestSeries<CounterSeries> {
  readonly type = 'counter';

  /**
   * `divisor`: the series count in units this many times smaller than the ones exposed (money in
   * integer micro-units, exposed in units), so that their sums stay exact however many are added:
   * adding $0.1 and $0.2 as binary fractions makes $0.30000000000000004.
   */
  constructor(name: string, help: string, labelNames: readonly string[], registry: Registry, private readonly divisor = 1) {
    super(name, help, labelNames, registry);
  }

  inc(values: readonly string[], amount = 1): void {
    this.at(values).value += amount;
  }

  protected create(labels: Record<string, string>): CounterSeries {
    return { labels, value: 0 };
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: Array<{ labels: Record<string, string>; value: number }> } {
    const divisor = this.divisor;
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: [...this.all()].map(({ labels, value }) => ({ labels, value: divisor === 1 ? value : value / divisor })) };
  }
}

export interface HistogramSeries {
  labels: Record<string, string>;
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
}

export class RequestHistogram extends RequestSeries<HistogramSeries> {
  readonly type = 'histogram';

  constructor(name: string, help: string, labelNames: readonly string[], private readonly buckets: readonly number[], registry: Registry) {
    super(name, help, labelNames, registry);
  }

  observe(values: readonly string[], value: number): void {
    this.observeIn(this.at(values), value);
  }

  /** Adds an observation to a series found earlier with `at`. */
  observeIn(series: HistogramSeries, value: number): void {
    if (!Number.isFinite(value)) return;
    let bucket = 0;
    while (bucket < this.buckets.length && value > (this.buckets[bucket] as number)) bucket++;
    (series.counts[bucket] as number)++;
    series.sum += value;
    series.count++;
  }

  protected create(labels: Record<string, string>): HistogramSeries {
    return { labels, counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 };
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> } {
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const series of this.all()) {
      let cumulative = 0;
      this.buckets.forEach((bound, index) => {
        cumulative += series.counts[index] as number;
        values.push({ labels: { le: bound, ...series.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...series.labels }, value: series.count, metricName: `${this.name}_bucket` });
      values.push({ labels: series.labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: series.labels, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
