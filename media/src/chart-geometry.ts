// Geometry of the small charts (bars, lines) in SVG user units. Pure: no DOM.
import type { SeriesPoint } from '../../src/protocol/ui';

export interface Bar {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** The smallest of 1, 2, 5 × 10^n that is ≥ `value` (an axis maximum people can read); 1 for 0. */
export function niceMax(value: number): number {
  if (!Number.isFinite(value) || value <= 0) return 1;
  const exp = Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    const candidate = step * 10 ** exp;
    if (candidate >= value * (1 - 1e-9)) return Number(candidate.toPrecision(12));
  }
  return 10 ** (exp + 1);
}

/**
 * One bar per value across `width`, bottom-aligned in `height`, scaled to `max` (default: the nice
 * maximum of the values). A bar of a non-zero value is at least 1 unit tall, so it never vanishes.
 */
export function barLayout(values: readonly number[], width: number, height: number, max = niceMax(Math.max(0, ...values))): Bar[] {
  if (values.length === 0) return [];
  const slot = width / values.length;
  const gap = slot > 4 ? 1 : 0;
  return values.map((v, i) => {
    const h = v <= 0 ? 0 : Math.max(1, (Math.min(v, max) / max) * height);
    return { x: round(i * slot + gap / 2), y: round(height - h), width: round(Math.max(0.5, slot - gap)), height: round(h) };
  });
}

/** Polyline points ("x,y x,y …") of `values` spread across `width`, scaled to `max` within `height`. */
export function linePoints(values: readonly number[], width: number, height: number, max: number): string {
  if (values.length === 0) return '';
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  return values
    .map((v, i) => {
      const x = values.length > 1 ? i * step : width / 2;
      const y = height - (Math.min(Math.max(0, v), max) / max) * height;
      return `${round(x)},${round(y)}`;
    })
    .join(' ');
}

/** Groups a long series into at most `max` buckets: sums of calls and errors, the worst p95, a call-weighted p50. */
export function bucketSeries(series: readonly SeriesPoint[], max: number): SeriesPoint[] {
  if (series.length <= max) return [...series];
  const size = Math.ceil(series.length / max);
  const out: SeriesPoint[] = [];
  for (let i = 0; i < series.length; i += size) {
    const group = series.slice(i, i + size);
    const calls = group.reduce((n, p) => n + p.calls, 0);
    out.push({
      t: group[0]!.t,
      calls,
      errors: group.reduce((n, p) => n + p.errors, 0),
      p50Ms: calls > 0 ? group.reduce((n, p) => n + p.p50Ms * p.calls, 0) / calls : 0,
      p95Ms: Math.max(0, ...group.map((p) => p.p95Ms)),
    });
  }
  return out;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
