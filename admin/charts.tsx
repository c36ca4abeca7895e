/**
 * Server-rendered SVG charts: no script, nothing from another site, readable without colour
 * (each chart says what it shows in <title>/<desc> and carries its numbers as a table). Colours
 * are SVG presentation attributes, which the page's style-src 'self' policy allows.
 */

/** One value at one time; null is "no data" and leaves a gap in the line. */
export interface ChartPoint {
  /** Milliseconds since the epoch (the start of the hour or day). */
  t: number;
  value: number | null;
}

export interface ChartSeries {
  name: string;
  points: ChartPoint[];
  /** Drawn grey and dashed: data that does not belong to anything known (an unknown version). */
  muted?: boolean;
}

export type ValueFormat = "count" | "percent" | "ms" | "usd" | "decimal";

/** Okabe–Ito colours (distinguishable with the common colour-vision deficiencies), on white. */
const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];
const MUTED = "#9aa0a6";

export function seriesColor(index: number, muted?: boolean): string {
  return muted ? MUTED : (PALETTE[index % PALETTE.length] ?? "#000000");
}

/** A number shortened for an axis or a cell: 1,234 → 1.2k, 3,400,000 → 3.4M. */
export function formatValue(value: number | null, format: ValueFormat): string {
  if (value === null || !Number.isFinite(value)) return "–";
  switch (format) {
    case "percent":
      return `${trim(value * 100, value * 100 < 10 ? 1 : 0)} %`;
    case "ms":
      return value >= 1000 ? `${trim(value / 1000, 1)} s` : `${trim(value, 0)} ms`;
    case "usd":
      if (value === 0) return "$0";
      // Two significant digits without padding zeros: $0.0005, $0.0015 (not $0.00050, which
      // outgrows the axis margin); String() writes exponents only below 1e-6.
      if (Math.abs(value) < 0.01) return `$${String(Number(value.toPrecision(2)))}`;
      return `$${compact(value, 2)}`;
    case "decimal":
      return trim(value, Math.abs(value) < 10 ? 2 : 1);
    default:
      return compact(value, 1);
  }
}

function compact(value: number, digits: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${trim(value / 1e9, 1)}B`;
  if (abs >= 1e6) return `${trim(value / 1e6, 1)}M`;
  if (abs >= 1e4) return `${trim(value / 1e3, 1)}k`;
  return trim(value, abs >= 100 ? 0 : digits);
}

/** Fixed decimals without trailing zeros: 2.50 → 2.5, 3.00 → 3. */
function trim(value: number, digits: number): string {
  return String(Number(value.toFixed(digits)));
}

/**
 * Ticks from 0 to a "nice" top above `max` (steps of 1, 2 or 5 × 10ⁿ), about `count` of them,
 * so an axis reads 0, 2k, 4k, 6k rather than 0, 1833, 3667, 5500; `whole` keeps steps ≥ 1.
 */
export function niceTicks(max: number, count = 4, whole = false): number[] {
  if (!(max > 0)) return [0, 1];
  // Counts step by whole numbers: an axis of 0, 0.25, 0.5 calls means nothing.
  const rough = whole ? Math.max(1, max / count) : max / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step =
    [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= rough) ??
    10 * magnitude;
  const ticks: number[] = [];
  for (let tick = 0; tick < max + step / 2 && ticks.length <= count + 1; tick += step) {
    ticks.push(Number(tick.toPrecision(12)));
  }
  if ((ticks.at(-1) ?? 0) < max) ticks.push(Number((ticks.length * step).toPrecision(12)));
  return ticks;
}

const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;
const TIME_STEPS = [
  HOUR_MS,
  3 * HOUR_MS,
  6 * HOUR_MS,
  12 * HOUR_MS,
  DAY_MS,
  2 * DAY_MS,
  7 * DAY_MS,
];

/** Time ticks on whole UTC hours or days, at most about 7 over the range. */
export function timeTicks(from: number, to: number): number[] {
  const span = Math.max(to - from, HOUR_MS);
  const step = TIME_STEPS.find((candidate) => span / candidate <= 7) ?? 14 * DAY_MS;
  const first = Math.ceil(from / step) * step;
  const ticks: number[] = [];
  for (let tick = first; tick <= to; tick += step) ticks.push(tick);
  return ticks;
}

/** UTC: "14:00" within a day, "07-01" across days, "07-01 14:00" in tables. */
export function formatTick(t: number, span: number): string {
  const iso = new Date(t).toISOString();
  return span <= 2 * DAY_MS ? iso.slice(11, 16) : iso.slice(5, 10);
}

export function formatBucket(t: number, granularity: "hour" | "day"): string {
  const iso = new Date(t).toISOString();
  return granularity === "hour" ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : iso.slice(0, 10);
}

const WIDTH = 560;
const HEIGHT = 220;
const MARGIN = { top: 12, right: 16, bottom: 28, left: 56 };

/** Path segments of a series, broken where a value is missing. */
function pathOf(points: { x: number; y: number | null }[]): string {
  let d = "";
  let pen = false;
  for (const point of points) {
    if (point.y === null) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${point.x.toFixed(1)},${point.y.toFixed(1)}`;
    pen = true;
  }
  return d;
}

export interface LineChartProps {
  /** Unique on the page: the ids of the title, description and table derive from it. */
  id: string;
  title: string;
  /** What the chart shows, for screen readers (and the tooltip of the image). */
  description: string;
  format: ValueFormat;
  from: number;
  to: number;
  granularity: "hour" | "day";
  series: ChartSeries[];
  /** A shared top for the y axis, so charts side by side compare at a glance. */
  yMax?: number;
}

/** A line chart over time, with a legend and its data as a table. */
export function LineChart(props: LineChartProps) {
  const { id, from, to, format } = props;
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const values = props.series.flatMap((s) => s.points.map((p) => p.value)).filter(isNumber);
  const hasData = values.length > 0;
  const yTicks = niceTicks(Math.max(props.yMax ?? 0, ...values, 0), 4, format === "count");
  const yTop = yTicks.at(-1) ?? 1;
  const span = Math.max(to - from, 1);
  const x = (t: number) => MARGIN.left + ((t - from) / span) * plotWidth;
  const y = (value: number) => MARGIN.top + plotHeight - (value / yTop) * plotHeight;
  const titleId = `${id}-title`;
  const descId = `${id}-desc`;
  return (
    <figure class="chart" aria-labelledby={`${id}-caption`}>
      <figcaption id={`${id}-caption`} class="chart-title">
        {props.title}
      </figcaption>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        width="100%"
        role="img"
        aria-labelledby={`${titleId} ${descId}`}
        class="chart-svg"
      >
        <title id={titleId}>{props.title}</title>
        <desc id={descId}>
          {hasData
            ? `${props.description} ${props.series.length} line${props.series.length === 1 ? "" : "s"}: ${props.series.map((s) => s.name).join(", ")}. The numbers are in the table below.`
            : `${props.description} No data in this range.`}
        </desc>
        {/* role="img" makes these children presentational: the title and desc speak for them. */}
        <g>
          {yTicks.map((tick) => (
            <g>
              <line
                x1={MARGIN.left}
                x2={WIDTH - MARGIN.right}
                y1={y(tick)}
                y2={y(tick)}
                stroke="#dde2ea"
                stroke-width="1"
              />
              <text
                x={MARGIN.left - 6}
                y={y(tick) + 4}
                text-anchor="end"
                font-size="11"
                fill="#5b6577"
              >
                {formatValue(tick, format)}
              </text>
            </g>
          ))}
          {timeTicks(from, to).map((tick) => (
            <g>
              <line
                x1={x(tick)}
                x2={x(tick)}
                y1={MARGIN.top + plotHeight}
                y2={MARGIN.top + plotHeight + 4}
                stroke="#5b6577"
              />
              <text x={x(tick)} y={HEIGHT - 8} text-anchor="middle" font-size="11" fill="#5b6577">
                {formatTick(tick, span)}
              </text>
            </g>
          ))}
          <line
            x1={MARGIN.left}
            x2={WIDTH - MARGIN.right}
            y1={MARGIN.top + plotHeight}
            y2={MARGIN.top + plotHeight}
            stroke="#5b6577"
          />
          {hasData ? null : (
            <text
              x={MARGIN.left + plotWidth / 2}
              y={MARGIN.top + plotHeight / 2}
              text-anchor="middle"
              font-size="13"
              fill="#5b6577"
            >
              No data in this range
            </text>
          )}
          {props.series.map((series, index) => {
            const color = seriesColor(index, series.muted);
            const points = series.points.map((p) => ({
              x: x(p.t),
              y: p.value === null ? null : y(p.value),
            }));
            return (
              <g>
                <path
                  d={pathOf(points)}
                  fill="none"
                  stroke={color}
                  stroke-width="2"
                  stroke-dasharray={series.muted ? "5 4" : undefined}
                  stroke-linejoin="round"
                />
                {/* A dot per point: a lone point (one hour of data) still shows. */}
                {points.map((p) =>
                  p.y === null ? null : <circle cx={p.x} cy={p.y} r="2.5" fill={color} />,
                )}
              </g>
            );
          })}
        </g>
      </svg>
      {props.series.length > 1 || props.series.some((s) => s.muted) ? (
        <Legend series={props.series} />
      ) : null}
      {hasData ? <ChartTable {...props} /> : null}
    </figure>
  );
}

function isNumber(value: number | null): value is number {
  return value !== null && Number.isFinite(value);
}

export function Legend({ series }: { series: ChartSeries[] }) {
  return (
    <ul class="chart-legend">
      {series.map((one, index) => (
        <li class={one.muted ? "muted" : undefined}>
          <svg width="18" height="10" aria-hidden="true">
            <line
              x1="0"
              x2="18"
              y1="5"
              y2="5"
              stroke={seriesColor(index, one.muted)}
              stroke-width="3"
              stroke-dasharray={one.muted ? "5 3" : undefined}
            />
          </svg>{" "}
          {one.name}
        </li>
      ))}
    </ul>
  );
}

/** The chart's numbers, for screen readers and for anyone who wants the exact values. */
function ChartTable(props: LineChartProps) {
  const times = [...new Set(props.series.flatMap((s) => s.points.map((p) => p.t)))].sort(
    (a, b) => a - b,
  );
  const byTime = props.series.map((s) => new Map(s.points.map((p) => [p.t, p.value])));
  return (
    <details class="chart-data">
      <summary>Data table: {props.title}</summary>
      <table class="table compact">
        <thead>
          <tr>
            <th scope="col">{props.granularity === "hour" ? "Hour (UTC)" : "Day (UTC)"}</th>
            {props.series.map((s) => (
              <th scope="col">{s.name}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {times.map((t) => (
            <tr>
              <th scope="row">{formatBucket(t, props.granularity)}</th>
              {byTime.map((values) => (
                <td class="numeric">{formatValue(values.get(t) ?? null, props.format)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

/** A small trend line without axes, for a summary; its label says the numbers. */
export function Sparkline(props: {
  label: string;
  points: ChartPoint[];
  from: number;
  to: number;
}) {
  const width = 140;
  const height = 32;
  const values = props.points.map((p) => p.value).filter(isNumber);
  const top = Math.max(...values, 0) || 1;
  const span = Math.max(props.to - props.from, 1);
  const points = props.points.map((p) => ({
    x: 2 + ((p.t - props.from) / span) * (width - 4),
    y: p.value === null ? null : height - 3 - (p.value / top) * (height - 6),
  }));
  return (
    <svg
      class="sparkline"
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
      role="img"
      aria-label={props.label}
    >
      <title>{props.label}</title>
      <line x1="0" x2={width} y1={height - 2} y2={height - 2} stroke="#dde2ea" />
      <path d={pathOf(points)} fill="none" stroke={seriesColor(0)} stroke-width="1.5" />
      {points.map((p) =>
        p.y === null ? null : <circle cx={p.x} cy={p.y} r="1.5" fill={seriesColor(0)} />,
      )}
    </svg>
  );
}

/** An interval of a relative effect (fractions: 0.05 = +5 %), one row per treatment. */
export interface IntervalRow {
  name: string;
  estimate: number | null;
  interval: [number, number] | null;
}

/** A symmetric axis around zero wide enough for every bound and marker, in fractions. */
function effectAxis(values: number[]): { top: number; ticks: number[] } {
  const reach = Math.max(...values.map(Math.abs), 0.01);
  const ticks = niceTicks(reach, 2);
  const top = ticks.at(-1) ?? reach;
  return { top, ticks: [...ticks.slice(1).map((tick) => -tick), ...ticks].sort((a, b) => a - b) };
}

/**
 * A forest plot of relative effects: each treatment's interval as a bar with its estimate as a
 * dot, against the zero line (no effect) and, for a guardrail, the allowed regression (dashed).
 * The numbers are in the table next to it, which the description points to.
 */
export function IntervalPlot(props: {
  id: string;
  title: string;
  description: string;
  rows: IntervalRow[];
  /** A guardrail's limit as a relative effect (e.g. +0.1 for "at most 10 % more errors"). */
  limit?: number;
}) {
  const width = 560;
  const rowHeight = 34;
  const margin = { top: 10, right: 20, bottom: 28, left: 120 };
  const height = margin.top + margin.bottom + Math.max(props.rows.length, 1) * rowHeight;
  const bounds = props.rows.flatMap((row) => [
    ...(row.interval ?? []),
    ...(row.estimate === null ? [] : [row.estimate]),
  ]);
  const { top, ticks } = effectAxis([
    ...bounds,
    ...(props.limit === undefined ? [] : [props.limit]),
  ]);
  const plotWidth = width - margin.left - margin.right;
  const x = (value: number) =>
    margin.left + ((Math.max(-top, Math.min(top, value)) + top) / (2 * top)) * plotWidth;
  const bottom = height - margin.bottom;
  const titleId = `${props.id}-title`;
  const descId = `${props.id}-desc`;
  return (
    <svg
      viewBox={`0 0 ${width} ${height}`}
      width="100%"
      role="img"
      aria-labelledby={`${titleId} ${descId}`}
      class="chart-svg interval-plot"
    >
      <title id={titleId}>{props.title}</title>
      <desc id={descId}>{props.description}</desc>
      <g>
        {ticks.map((tick) => (
          <g>
            <line x1={x(tick)} x2={x(tick)} y1={margin.top} y2={bottom} stroke="#dde2ea" />
            <text x={x(tick)} y={height - 8} text-anchor="middle" font-size="11" fill="#5b6577">
              {`${tick > 0 ? "+" : ""}${formatValue(tick, "percent")}`}
            </text>
          </g>
        ))}
        <line x1={x(0)} x2={x(0)} y1={margin.top} y2={bottom} stroke="#1f2937" stroke-width="1.5" />
        {props.limit === undefined ? null : (
          <line
            x1={x(props.limit)}
            x2={x(props.limit)}
            y1={margin.top}
            y2={bottom}
            stroke="#B42318"
            stroke-width="1.5"
            stroke-dasharray="5 4"
          />
        )}
        {props.rows.map((row, index) => {
          const cy = margin.top + index * rowHeight + rowHeight / 2;
          const color = seriesColor(index + 1);
          return (
            <g>
              <text x={margin.left - 8} y={cy + 4} text-anchor="end" font-size="12" fill="#1f2937">
                {row.name}
              </text>
              {row.interval ? (
                <line
                  x1={x(row.interval[0])}
                  x2={x(row.interval[1])}
                  y1={cy}
                  y2={cy}
                  stroke={color}
                  stroke-width="4"
                  stroke-linecap="round"
                />
              ) : (
                <text x={x(0) + 6} y={cy + 4} font-size="11" fill="#5b6577">
                  no interval yet
                </text>
              )}
              {row.estimate === null ? null : (
                <circle
                  cx={x(row.estimate)}
                  cy={cy}
                  r="5"
                  fill="#ffffff"
                  stroke={color}
                  stroke-width="2"
                />
              )}
            </g>
          );
        })}
      </g>
    </svg>
  );
}

/** One treatment's effect per day: the estimate and its interval (fractions), null without. */
export interface EffectSeries {
  name: string;
  points: { t: number; estimate: number | null; interval: [number, number] | null }[];
}

/**
 * The effect over time: per treatment a line of the estimate and a band of its interval, around
 * the zero line. Days are cumulative (each point uses all data up to that day's end), so the
 * band narrows as units come in; its numbers are in a table under the chart.
 */
export function EffectChart(props: {
  id: string;
  title: string;
  description: string;
  series: EffectSeries[];
}) {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const times = [...new Set(props.series.flatMap((s) => s.points.map((p) => p.t)))].sort(
    (a, b) => a - b,
  );
  const values = props.series.flatMap((s) =>
    s.points.flatMap((p) => [...(p.interval ?? []), ...(p.estimate === null ? [] : [p.estimate])]),
  );
  const { top, ticks } = effectAxis(values);
  const from = times[0] ?? 0;
  const to = times.at(-1) ?? from;
  const span = Math.max(to - from, 1);
  // A single day sits in the middle rather than on the axis.
  const x = (t: number) =>
    times.length < 2 ? MARGIN.left + plotWidth / 2 : MARGIN.left + ((t - from) / span) * plotWidth;
  const y = (value: number) =>
    MARGIN.top + plotHeight / 2 - (Math.max(-top, Math.min(top, value)) / top) * (plotHeight / 2);
  const titleId = `${props.id}-title`;
  const descId = `${props.id}-desc`;
  return (
    <figure class="chart" aria-labelledby={`${props.id}-caption`}>
      <figcaption id={`${props.id}-caption`} class="chart-title">
        {props.title}
      </figcaption>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        width="100%"
        role="img"
        aria-labelledby={`${titleId} ${descId}`}
        class="chart-svg"
      >
        <title id={titleId}>{props.title}</title>
        <desc id={descId}>
          {times.length > 0
            ? `${props.description} The numbers are in the table below.`
            : `${props.description} No data yet.`}
        </desc>
        <g>
          {ticks.map((tick) => (
            <g>
              <line
                x1={MARGIN.left}
                x2={WIDTH - MARGIN.right}
                y1={y(tick)}
                y2={y(tick)}
                stroke="#dde2ea"
              />
              <text
                x={MARGIN.left - 6}
                y={y(tick) + 4}
                text-anchor="end"
                font-size="11"
                fill="#5b6577"
              >
                {`${tick > 0 ? "+" : ""}${formatValue(tick, "percent")}`}
              </text>
            </g>
          ))}
          <line
            x1={MARGIN.left}
            x2={WIDTH - MARGIN.right}
            y1={y(0)}
            y2={y(0)}
            stroke="#1f2937"
            stroke-width="1.5"
          />
          {times.map((t) => (
            <text x={x(t)} y={HEIGHT - 8} text-anchor="middle" font-size="11" fill="#5b6577">
              {new Date(t).toISOString().slice(5, 10)}
            </text>
          ))}
          {props.series.map((series, index) => {
            const color = seriesColor(index + 1);
            const banded = series.points.filter((p) => p.interval !== null);
            const band =
              banded.length === 0
                ? ""
                : [
                    ...banded.map(
                      (p) => `${x(p.t).toFixed(1)},${y(p.interval?.[1] ?? 0).toFixed(1)}`,
                    ),
                    ...[...banded]
                      .reverse()
                      .map((p) => `${x(p.t).toFixed(1)},${y(p.interval?.[0] ?? 0).toFixed(1)}`),
                  ].join(" ");
            const points = series.points.map((p) => ({
              x: x(p.t),
              y: p.estimate === null ? null : y(p.estimate),
            }));
            return (
              <g>
                {banded.length > 1 ? (
                  <polygon points={band} fill={color} fill-opacity="0.15" />
                ) : null}
                {banded.length === 1 && banded[0]?.interval ? (
                  <line
                    x1={x(banded[0].t)}
                    x2={x(banded[0].t)}
                    y1={y(banded[0].interval[0])}
                    y2={y(banded[0].interval[1])}
                    stroke={color}
                    stroke-width="4"
                    stroke-opacity="0.4"
                  />
                ) : null}
                <path d={pathOf(points)} fill="none" stroke={color} stroke-width="2" />
                {points.map((p) =>
                  p.y === null ? null : <circle cx={p.x} cy={p.y} r="3" fill={color} />,
                )}
              </g>
            );
          })}
        </g>
      </svg>
      {props.series.length > 1 ? (
        <ul class="chart-legend">
          {props.series.map((one, index) => (
            <li>
              <svg width="18" height="10" aria-hidden="true">
                <line
                  x1="0"
                  x2="18"
                  y1="5"
                  y2="5"
                  stroke={seriesColor(index + 1)}
                  stroke-width="3"
                />
              </svg>{" "}
              {one.name}
            </li>
          ))}
        </ul>
      ) : null}
      {times.length > 0 ? (
        <details class="chart-data">
          <summary>Data table: {props.title}</summary>
          <table class="table compact">
            <thead>
              <tr>
                <th scope="col">Day (UTC)</th>
                {props.series.map((s) => (
                  <th scope="col">{s.name}: effect (interval)</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {times.map((t) => (
                <tr>
                  <th scope="row">{new Date(t).toISOString().slice(0, 10)}</th>
                  {props.series.map((s) => {
                    const p = s.points.find((point) => point.t === t);
                    return <td class="numeric">{p ? effectText(p.estimate, p.interval) : "–"}</td>;
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      ) : null}
    </figure>
  );
}

/** "+12 % (+3 % to +21 %)": a relative effect and its interval, signed. */
export function effectText(estimate: number | null, interval: [number, number] | null): string {
  const signed = (value: number) => `${value > 0 ? "+" : ""}${formatValue(value, "percent")}`;
  if (estimate === null) return "–";
  return interval
    ? `${signed(estimate)} (${signed(interval[0])} to ${signed(interval[1])})`
    : signed(estimate);
}
