import {
  METRICS_GROUPINGS,
  type MetricsGranularity,
  type MetricsGrouping,
} from "@cuecard/core/telemetry";
import type { Hono } from "hono";
import { type ChartSeries, LineChart } from "../../../../admin/charts";
import { Breadcrumbs, Notice, Page, promptPath } from "../../../../admin/components/layout";
import { render } from "../../../../admin/render";
import { signedIn, type UiContext, type UiEnv } from "../../../../admin/session";
import { promptOfPage } from "../../prompts/pages/prompts";
import type { PromptRow } from "../../prompts/prompts";
import type { MetricsSeriesView, PromptMetricsView } from "../schemas";
import {
  bucketsOf,
  chartPoints,
  formatTotal,
  type MetricDefinition,
  metricDefinitions,
  pageQuery,
  RANGES,
  type RangeKey,
  rangeOf,
  scoreNamesOf,
  seriesName,
} from "./metrics-view";
import { type MetricsResult, readMetrics } from "./trend";

function groupingOf(value: string | undefined): MetricsGrouping {
  return (METRICS_GROUPINGS as readonly string[]).includes(value ?? "")
    ? (value as MetricsGrouping)
    : "version";
}

/** The prompt's sub-pages; the prompt page links here too. */
function PromptTabs({ name, current }: { name: string; current: "metrics" | "compare" }) {
  return (
    <nav class="tabs" aria-label="Prompt">
      <a href={promptPath(name)}>Overview</a>
      <a
        href={promptPath(name, "/metrics")}
        aria-current={current === "metrics" ? "page" : undefined}
      >
        Metrics
      </a>
      <a
        href={promptPath(name, "/metrics/compare")}
        aria-current={current === "compare" ? "page" : undefined}
      >
        Compare versions
      </a>
    </nav>
  );
}

function Choices(props: {
  label: string;
  options: { value: string; text: string; href: string }[];
  current: string;
}) {
  return (
    <nav class="choices" aria-label={props.label}>
      <span class="muted">{props.label}:</span>
      {props.options.map((option) => (
        <a href={option.href} aria-current={option.value === props.current ? "true" : undefined}>
          {option.text}
        </a>
      ))}
    </nav>
  );
}

function RangeChoices(props: { base: string; range: RangeKey; keep: Record<string, string> }) {
  return (
    <Choices
      label="Range"
      current={props.range}
      options={Object.entries(RANGES).map(([key, range]) => ({
        value: key,
        text: range.label,
        href: `${props.base}?${new URLSearchParams({ ...props.keep, range: key })}`,
      }))}
    />
  );
}

function TelemetryNotices({ result }: { result: MetricsResult }) {
  if ("error" in result) {
    return (
      <div class="notice notice-error" role="alert">
        {result.error}
      </div>
    );
  }
  if (result.metrics.telemetry === "not_deployed") {
    return (
      <Notice>
        Telemetry is not deployed in this Cuecard, so there are no metrics to show. Deploy the
        telemetry worker and bind it to the admin worker as <code>TELEMETRY</code> (see the README).
      </Notice>
    );
  }
  return null;
}

const TOTAL_COLUMNS = metricDefinitions([]);

/** One row per series: the whole range's figures (histograms merged by telemetry). */
function TotalsTable(props: {
  caption: string;
  series: MetricsSeriesView[];
  groupBy: MetricsGrouping;
}) {
  const scoreNames = scoreNamesOf(props.series);
  const columns = [...TOTAL_COLUMNS.slice(0, 1), ERRORS_COLUMN, ...TOTAL_COLUMNS.slice(1)];
  const scores = metricDefinitions(scoreNames).slice(TOTAL_COLUMNS.length);
  return (
    <div class="table-scroll">
      <table class="table totals">
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">
              {props.groupBy === "version"
                ? "Version"
                : props.groupBy === "label"
                  ? "Label"
                  : "Variant"}
            </th>
            {[...columns, ...scores].map((metric) => (
              <th scope="col" class="numeric">
                {metric.title}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.series.map((series) => (
            <tr class={series.unknownVersion ? "muted" : undefined}>
              <th scope="row">{seriesName(series, props.groupBy)}</th>
              {[...columns, ...scores].map((metric) => (
                <td class="numeric">{formatTotal(metric.value(series.total), metric.format)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const ERRORS_COLUMN: MetricDefinition = {
  key: "errors",
  title: "Errors",
  description: "Failed calls.",
  format: "count",
  value: (p) => p.errors,
};

function chartSeriesOf(
  series: MetricsSeriesView[],
  groupBy: MetricsGrouping,
  metric: MetricDefinition,
  buckets: number[],
): ChartSeries[] {
  return series.map((one) => ({
    name: seriesName(one, groupBy),
    points: chartPoints(one, metric, buckets),
    muted: one.unknownVersion === true,
  }));
}

interface Frame {
  from: number;
  to: number;
  granularity: MetricsGranularity;
}

function frameOf(metrics: PromptMetricsView): Frame {
  return {
    from: Date.parse(metrics.from),
    to: Date.parse(metrics.to),
    granularity: metrics.granularity,
  };
}

function Charts(props: {
  idPrefix: string;
  series: MetricsSeriesView[];
  groupBy: MetricsGrouping;
  frame: Frame;
  metrics: MetricDefinition[];
  /** Per metric key: the y-axis top shared with the charts beside these. */
  yMax?: Record<string, number>;
}) {
  const { frame } = props;
  const buckets = bucketsOf(frame.from, frame.to, frame.granularity);
  return (
    <div class="charts">
      {props.metrics.map((metric) => (
        <LineChart
          id={`${props.idPrefix}-${metric.key}`}
          title={metric.title}
          description={`${metric.description} Per ${frame.granularity}, UTC.`}
          format={metric.format}
          from={frame.from}
          to={frame.to}
          granularity={frame.granularity}
          series={chartSeriesOf(props.series, props.groupBy, metric, buckets)}
          yMax={props.yMax?.[metric.key]}
        />
      ))}
    </div>
  );
}

function MetricsPage(props: {
  c: UiContext;
  prompt: PromptRow;
  range: RangeKey;
  groupBy: MetricsGrouping;
  result: MetricsResult;
}) {
  const { c, prompt, range, groupBy, result } = props;
  const base = promptPath(prompt.name, "/metrics");
  const metrics = "metrics" in result ? result.metrics : undefined;
  return (
    <Page title={`Metrics · ${prompt.name}`} actor={c.get("actor")} csrfToken={c.get("csrfToken")}>
      <Breadcrumbs
        trail={[
          { href: "/", text: "Prompts" },
          { href: promptPath(prompt.name), text: prompt.name },
          { text: "Metrics" },
        ]}
      />
      <h1>Metrics of {prompt.name}</h1>
      <PromptTabs name={prompt.name} current="metrics" />
      <div class="metrics-controls">
        <RangeChoices base={base} range={range} keep={{ groupBy }} />
        <Choices
          label="Lines per"
          current={groupBy}
          options={METRICS_GROUPINGS.map((value) => ({
            value,
            text: value,
            href: `${base}?${new URLSearchParams({ range, groupBy: value })}`,
          }))}
        />
      </div>
      <TelemetryNotices result={result} />
      {metrics && metrics.telemetry === "deployed" ? (
        metrics.series.length === 0 ? (
          <div class="empty">
            <p>
              No calls recorded for {prompt.name} in the last {RANGES[range].label}.
            </p>
          </div>
        ) : (
          <>
            <section aria-labelledby="totals-title">
              <h2 id="totals-title">Totals</h2>
              <TotalsTable
                caption={`The last ${RANGES[range].label}, per ${groupBy}`}
                series={metrics.series}
                groupBy={groupBy}
              />
              {metrics.series.some((s) => s.unknownVersion) ? (
                <p class="muted small">
                  Greyed: calls that reported a version {prompt.name} does not have (an app sent a
                  wrong version number). They are counted, not dropped.
                </p>
              ) : null}
            </section>
            <section aria-labelledby="charts-title">
              <h2 id="charts-title">Over time</h2>
              <Charts
                idPrefix="chart"
                series={metrics.series}
                groupBy={groupBy}
                frame={frameOf(metrics)}
                metrics={metricDefinitions(scoreNamesOf(metrics.series))}
              />
            </section>
          </>
        )
      ) : null}
    </Page>
  );
}

/** The highest value each metric reaches in any of the series, for shared axes. */
function sharedTops(
  series: MetricsSeriesView[],
  definitions: MetricDefinition[],
  buckets: number[],
): Record<string, number> {
  const tops: Record<string, number> = {};
  for (const metric of definitions) {
    const values = series.flatMap((s) => chartPoints(s, metric, buckets).map((p) => p.value ?? 0));
    tops[metric.key] = Math.max(0, ...values);
  }
  return tops;
}

function ComparePage(props: {
  c: UiContext;
  prompt: PromptRow;
  range: RangeKey;
  a: number;
  b: number;
  result: MetricsResult;
}) {
  const { c, prompt, range, a, b, result } = props;
  const base = promptPath(prompt.name, "/metrics/compare");
  const metrics = "metrics" in result ? result.metrics : undefined;
  const pick = (version: number): MetricsSeriesView[] =>
    metrics?.series.filter((s) => s.version === version) ?? [];
  const [left, right] = [pick(a), pick(b)];
  const versions = Array.from({ length: prompt.latestVersion }, (_, i) => prompt.latestVersion - i);
  const definitions = metricDefinitions(scoreNamesOf([...left, ...right]));
  const frame = metrics ? frameOf(metrics) : undefined;
  const buckets = frame ? bucketsOf(frame.from, frame.to, frame.granularity) : [];
  const tops = sharedTops([...left, ...right], definitions, buckets);
  const rows = [definitions[0] as MetricDefinition, ERRORS_COLUMN, ...definitions.slice(1)];
  const columns = [
    { version: a, series: left, side: "left" },
    { version: b, series: right, side: "right" },
  ];
  return (
    <Page
      title={`Compare v${a} and v${b} · ${prompt.name}`}
      actor={c.get("actor")}
      csrfToken={c.get("csrfToken")}
    >
      <Breadcrumbs
        trail={[
          { href: "/", text: "Prompts" },
          { href: promptPath(prompt.name), text: prompt.name },
          { href: promptPath(prompt.name, "/metrics"), text: "Metrics" },
          { text: "Compare" },
        ]}
      />
      <h1>
        v{a} and v{b} of {prompt.name}, side by side
      </h1>
      <PromptTabs name={prompt.name} current="compare" />
      <form method="get" action={base} class="filters" aria-label="Versions to compare">
        <input type="hidden" name="range" value={range} />
        <div class="field">
          <label for="a">Left</label>
          <select id="a" name="a">
            {versions.map((v) => (
              <option value={String(v)} selected={v === a}>
                v{v}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="b">Right</label>
          <select id="b" name="b">
            {versions.map((v) => (
              <option value={String(v)} selected={v === b}>
                v{v}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" class="button-secondary">
          Compare
        </button>
      </form>
      <div class="metrics-controls">
        <RangeChoices base={base} range={range} keep={{ a: String(a), b: String(b) }} />
      </div>
      <TelemetryNotices result={result} />
      {metrics && frame && metrics.telemetry === "deployed" ? (
        <>
          <section aria-labelledby="compare-totals-title">
            <h2 id="compare-totals-title">Totals</h2>
            <table class="table totals compare-totals">
              <caption>
                The last {RANGES[range].label}: v{a} against v{b}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Metric</th>
                  <th scope="col" class="numeric">
                    v{a}
                  </th>
                  <th scope="col" class="numeric">
                    v{b}
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((metric) => (
                  <tr>
                    <th scope="row">{metric.title}</th>
                    {[left[0], right[0]].map((series) => (
                      <td class="numeric">
                        {series ? formatTotal(metric.value(series.total), metric.format) : "–"}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          {/* One row per metric, the two versions side by side, so a chart always sits next to
              its counterpart (two independent columns drift apart when one has no data). */}
          <section aria-labelledby="compare-charts-title">
            <h2 id="compare-charts-title">Over time</h2>
            <div class="compare-columns">
              {columns.map((column) => (
                <div>
                  <h3 id={`${column.side}-title`}>v{column.version}</h3>
                  {column.series.length === 0 ? (
                    <p class="muted">No calls used v{column.version} in this range.</p>
                  ) : null}
                </div>
              ))}
            </div>
            {definitions.map((metric) => (
              <div class="compare-columns compare-row">
                {columns.map((column) => (
                  <LineChart
                    id={`${column.side}-${metric.key}`}
                    title={`${metric.title} · v${column.version}`}
                    description={`${metric.description} Per ${frame.granularity}, UTC.`}
                    format={metric.format}
                    from={frame.from}
                    to={frame.to}
                    granularity={frame.granularity}
                    series={chartSeriesOf(column.series, "version", metric, buckets)}
                    yMax={tops[metric.key]}
                  />
                ))}
              </div>
            ))}
          </section>
        </>
      ) : null}
    </Page>
  );
}

/** A version number from a page's query, if it is one the prompt has. */
function versionOf(value: string | undefined, prompt: PromptRow): number | undefined {
  const version = Number(value);
  return Number.isInteger(version) && version >= 1 && version <= prompt.latestVersion
    ? version
    : undefined;
}

export function registerMetricsPages(ui: Hono<UiEnv>) {
  ui.get("/prompts/:name/metrics", signedIn(), async (c) => {
    const prompt = await promptOfPage(c);
    const range = rangeOf(c.req.query("range"));
    const groupBy = groupingOf(c.req.query("groupBy"));
    const result = await readMetrics(c, prompt, pageQuery(range, groupBy, new Date()));
    return render(
      c,
      <MetricsPage c={c} prompt={prompt} range={range} groupBy={groupBy} result={result} />,
    );
  });

  ui.get("/prompts/:name/metrics/compare", signedIn(), async (c) => {
    const prompt = await promptOfPage(c);
    const range = rangeOf(c.req.query("range"));
    const b = versionOf(c.req.query("b"), prompt) ?? prompt.latestVersion;
    const a = versionOf(c.req.query("a"), prompt) ?? Math.max(1, prompt.latestVersion - 1);
    const result = await readMetrics(c, prompt, pageQuery(range, "version", new Date()));
    return render(
      c,
      <ComparePage c={c} prompt={prompt} range={range} a={a} b={b} result={result} />,
    );
  });
}
