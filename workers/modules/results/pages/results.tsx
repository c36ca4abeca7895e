import type {
  ExperimentDecision,
  ExperimentResults,
  MetricResult,
} from "@cuecard/core/experiment-results";
import { ProblemError } from "@cuecard/core/problem";
import type { Hono } from "hono";
import {
  EffectChart,
  effectText,
  formatValue,
  IntervalPlot,
  type ValueFormat,
} from "../../../../admin/charts";
import {
  Breadcrumbs,
  CsrfField,
  FormError,
  LabelBadge,
  Notice,
  Page,
  promptPath,
} from "../../../../admin/components/layout";
import { render } from "../../../../admin/render";
import { signedIn, type UiContext, type UiEnv } from "../../../../admin/session";
import { readContext } from "../../../platform/http/app";
import { capabilitiesOf } from "../../access/access";
import {
  experimentOfPage,
  experimentsPath,
  metricText,
  StateBadge,
} from "../../experiments/pages/experiments";
import type { ExperimentWithExposuresView } from "../../experiments/schemas";
import { getProject } from "../../projects/projects";
import { VersionDiff } from "../../prompts/pages/diff";
import type { PromptRow } from "../../prompts/prompts";
import { getVersion } from "../../prompts/versions";
import { experimentResults } from "../results";
import { ResultsQuery } from "../schemas";

/**
 * An experiment's results page: the decision and why, per metric a table of the variants'
 * figures and a plot of their intervals against zero, the primary metric's effect over time,
 * and "Promote the winner", which confirms with the diff of what applications will get and then
 * stops the experiment with that promotion (the experiment page's stop flow).
 */

const resultsPath = (name: string, id: string) => experimentsPath(name, `/${id}/results`);

/** How a metric's value reads: rates as percents, latency in ms, cost in dollars. */
function formatOf(metric: MetricResult["metric"]): ValueFormat {
  switch (metric.kind) {
    case "conversion":
    case "error_rate":
      return "percent";
    case "latency_p95":
    case "ttft_p95":
      return "ms";
    case "cost":
      return "usd";
    case "tokens":
      return "count";
    default:
      return "decimal";
  }
}

const DECISION_TEXT: Record<ExperimentDecision, string> = {
  not_enough_data: "Not enough data",
  srm: "Sample-ratio mismatch",
  guardrail_failed: "Guardrail failed",
  no_winner_yet: "No winner yet",
  winner: "Winner",
};

const INTERVAL_TEXT: Record<ExperimentResults["intervalKind"], string> = {
  sequential: "95 % sequential (always valid)",
  fixed: "95 % fixed-horizon",
  bayesian: "95 % credible",
};

const STATE_TEXT = { ok: "ok", failing: "failing", not_enough_data: "not enough data" } as const;

function decisionClass(decision: ExperimentDecision) {
  if (decision === "winner") return "status status-experiment-running";
  if (decision === "srm" || decision === "guardrail_failed") return "status status-failed";
  return "status status-experiment-draft";
}

function MetricSection(props: { result: MetricResult; index: number; results: ExperimentResults }) {
  const { result, index, results } = props;
  const format = formatOf(result.metric);
  const bayesian = results.engine === "bayesian";
  const id = `metric-${index}`;
  const name = metricText(result.metric);
  const limit = result.guardrail
    ? ((result.higherIsBetter ? -1 : 1) * result.guardrail.maxRegressionPct) / 100
    : undefined;
  const treatments = result.variants.slice(1);
  return (
    <section aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>
        {name}{" "}
        <span class="muted small">{result.role === "primary" ? "primary" : "guardrail"}</span>
      </h3>
      <p class="muted small">
        {result.higherIsBetter ? "Higher is better." : "Lower is better."}
        {result.guardrail
          ? ` Allowed regression: ${result.guardrail.maxRegressionPct} % worse than the control.`
          : ""}
      </p>
      {/* Focusable: on a phone this table scrolls sideways, and holds no link to scroll it by keyboard. */}
      <table class="table" data-metric={result.metric.kind} tabindex={0}>
        <caption class="visually-hidden">
          {name}: figures per variant, effects against the control
        </caption>
        <thead>
          <tr>
            <th scope="col">Variant</th>
            <th scope="col" class="numeric">
              Units
            </th>
            <th scope="col" class="numeric">
              Value ± sd
            </th>
            <th scope="col" class="numeric">
              Effect
            </th>
            <th scope="col" class="numeric">
              Interval ({INTERVAL_TEXT[results.intervalKind]})
            </th>
            <th scope="col" class="numeric">
              {bayesian ? "Chance to win" : "p-value"}
            </th>
            {result.guardrail ? <th scope="col">Guardrail</th> : null}
          </tr>
        </thead>
        <tbody>
          {result.variants.map((row, position) => {
            const control = position === 0;
            const state = result.guardrail?.states[row.variant];
            return (
              <tr data-variant={row.variant}>
                <th scope="row">
                  {row.variant}
                  {control ? <span class="muted small"> control</span> : null}
                </th>
                <td class="numeric">{row.units.toLocaleString("en-US")}</td>
                <td class="numeric">
                  {formatValue(row.value, format)}
                  {row.sd === null ? "" : ` ± ${formatValue(row.sd, format)}`}
                </td>
                <td class="numeric">{control ? "—" : effectText(row.relativeEffect, null)}</td>
                <td class="numeric">
                  {control || !row.interval ? "—" : effectText(row.interval[0], null)}
                  {control || !row.interval ? "" : ` to ${effectText(row.interval[1], null)}`}
                </td>
                <td class="numeric">
                  {control
                    ? "—"
                    : bayesian
                      ? formatValue(row.chanceToWin, "percent")
                      : row.pValue === null
                        ? "–"
                        : row.pValue < 0.0001
                          ? "< 0.0001"
                          : row.pValue.toFixed(4)}
                </td>
                {result.guardrail ? (
                  <td>
                    {control || !state ? (
                      "—"
                    ) : (
                      <span
                        class={
                          state === "failing"
                            ? "status status-failed"
                            : state === "ok"
                              ? "status status-active"
                              : "status status-experiment-draft"
                        }
                      >
                        {STATE_TEXT[state]}
                      </span>
                    )}
                  </td>
                ) : null}
              </tr>
            );
          })}
        </tbody>
      </table>
      <IntervalPlot
        id={`${id}-plot`}
        title={`${name}: relative effect against the control`}
        description={`Each variant's ${INTERVAL_TEXT[results.intervalKind]} interval of the relative effect, with the zero line (no effect)${limit === undefined ? "" : " and the allowed regression as a dashed line"}. The same numbers are in the table above.`}
        rows={treatments.map((row) => ({
          name: row.variant,
          estimate: row.relativeEffect,
          interval: row.interval,
        }))}
        limit={limit}
      />
    </section>
  );
}

function ResultsPage(props: {
  c: UiContext;
  prompt: PromptRow;
  experiment: ExperimentWithExposuresView;
  results: ExperimentResults | null;
  /** Why there are no results (telemetry absent or down). */
  missing?: { text: string; alert: boolean };
  canPromote: boolean;
}) {
  const { c, prompt, experiment, results } = props;
  const live = experiment.state === "running" || experiment.state === "paused";
  const primary = results?.metrics[0];
  return (
    <Page
      title={`Results of ${experiment.key} · ${prompt.name}`}
      actor={c.get("actor")}
      csrfToken={c.get("csrfToken")}
    >
      <Breadcrumbs
        trail={[
          { href: "/", text: "Prompts" },
          { href: promptPath(prompt.name), text: prompt.name },
          {
            href: experimentsPath(prompt.name, `/${experiment.id}`),
            text: `Experiment ${experiment.key}`,
          },
          { text: "Results" },
        ]}
      />
      <h1>
        Results of {experiment.key} <StateBadge state={experiment.state} />
      </h1>
      <p class="lead">
        {experiment.variants.length + 1} arms on <LabelBadge name={experiment.label} /> of{" "}
        {prompt.name}, by {experiment.unit}. Every figure is per unit (the unit of randomisation),
        computed from telemetry now.
      </p>
      {props.missing ? (
        props.missing.alert ? (
          <div class="notice notice-error" role="alert">
            {props.missing.text}
          </div>
        ) : (
          <Notice>{props.missing.text}</Notice>
        )
      ) : null}
      {results ? (
        <>
          <form method="get" action={resultsPath(prompt.name, experiment.id)} class="filters">
            <div class="field">
              <label for="engine">Engine</label>
              <select id="engine" name="engine">
                <option value="frequentist" selected={results.engine === "frequentist"}>
                  Frequentist (p-values)
                </option>
                <option value="bayesian" selected={results.engine === "bayesian"}>
                  Bayesian (chance to win)
                </option>
              </select>
            </div>
            <div class="field">
              <label for="sequential">Intervals</label>
              <select id="sequential" name="sequential">
                <option value="true" selected={results.intervalKind !== "fixed"}>
                  Sequential: safe to look every day
                </option>
                <option value="false" selected={results.intervalKind === "fixed"}>
                  Fixed horizon: read once at the planned size
                </option>
              </select>
            </div>
            <button type="submit" class="button-secondary">
              Show
            </button>
          </form>

          {results.decision === "srm" ? (
            <div class="notice notice-error" role="alert" id="srm-banner">
              <strong>Sample-ratio mismatch.</strong> The arms' exposed units (
              {Object.entries(results.srm.observed)
                .map(([arm, units]) => `${arm} ${units.toLocaleString("en-US")}`)
                .join(", ")}
              ) do not match the weights (p ={" "}
              {results.srm.pValue === null ? "–" : results.srm.pValue.toExponential(1)}): the
              assignment or the exposure logging is broken, so no result can be trusted until the
              cause is found.
            </div>
          ) : null}

          <section aria-labelledby="decision-title">
            <h2 id="decision-title">Decision</h2>
            <p>
              <span class={decisionClass(results.decision)} data-decision={results.decision}>
                {DECISION_TEXT[results.decision]}
                {results.winner ? `: ${results.winner}` : ""}
              </span>
            </p>
            <p id="decision-reason">{results.reason}</p>
            {results.decision === "winner" &&
            results.winner &&
            results.winner !== experiment.control.key &&
            live ? (
              props.canPromote ? (
                <p>
                  <a
                    class="button button-primary"
                    href={experimentsPath(
                      prompt.name,
                      `/${experiment.id}/promote?variant=${encodeURIComponent(results.winner)}`,
                    )}
                  >
                    Promote the winner ({results.winner})
                  </a>
                </p>
              ) : (
                <Notice>
                  Promoting {results.winner} moves <LabelBadge name={experiment.label} />, which
                  needs the rights to move it.
                </Notice>
              )
            ) : null}
          </section>

          <section aria-labelledby="metrics-title">
            <h2 id="metrics-title">Metrics</h2>
            {results.metrics.map((result, index) => (
              <MetricSection result={result} index={index} results={results} />
            ))}
          </section>

          {primary ? (
            <section aria-labelledby="over-time-heading">
              <h2 id="over-time-heading">Primary metric over time</h2>
              <EffectChart
                id="over-time"
                title={`${metricText(primary.metric)}: relative effect by day`}
                description="Each variant's relative effect against the control with its interval, using all data up to the end of each UTC day, around the zero line."
                series={primary.variants.slice(1).map((row) => ({
                  name: row.variant,
                  points: results.overTime.map((day) => ({
                    t: Date.parse(`${day.day}T00:00:00Z`),
                    estimate: day.variants[row.variant]?.relativeEffect ?? null,
                    interval: day.variants[row.variant]?.interval ?? null,
                  })),
                }))}
              />
            </section>
          ) : null}
        </>
      ) : null}
    </Page>
  );
}

/** The confirmation before a promotion: what the label serves now, what it will, and the diff. */
function PromoteConfirmPage(props: {
  c: UiContext;
  prompt: PromptRow;
  experiment: ExperimentWithExposuresView;
  variant: { key: string; version: number };
  before: Awaited<ReturnType<typeof getVersion>> | undefined;
  after: Awaited<ReturnType<typeof getVersion>>;
  blocked?: string;
}) {
  const { c, prompt, experiment, variant, before, after } = props;
  return (
    <Page
      title={`Promote ${variant.key} · ${prompt.name}`}
      actor={c.get("actor")}
      csrfToken={c.get("csrfToken")}
    >
      <Breadcrumbs
        trail={[
          { href: "/", text: "Prompts" },
          { href: promptPath(prompt.name), text: prompt.name },
          {
            href: experimentsPath(prompt.name, `/${experiment.id}`),
            text: `Experiment ${experiment.key}`,
          },
          { text: `Promote ${variant.key}` },
        ]}
      />
      <h1>
        Promote {variant.key} to <LabelBadge name={experiment.label} />
      </h1>
      <div class="card confirm">
        <p class="summary">
          This stops {experiment.key} and moves <LabelBadge name={experiment.label} /> from{" "}
          <strong>v{before?.version ?? experiment.control.version}</strong> to{" "}
          <strong>v{variant.version}</strong>: every unit gets {variant.key}'s version.
        </p>
        {props.blocked ? (
          <FormError message={props.blocked} />
        ) : (
          <form method="post" action={experimentsPath(prompt.name, `/${experiment.id}/stop`)}>
            <CsrfField token={c.get("csrfToken")} />
            <input type="hidden" name="promote" value={variant.key} />
            <div class="form-actions">
              <button type="submit" class="button-primary">
                Stop and promote {variant.key} (v{variant.version})
              </button>
              <a href={resultsPath(prompt.name, experiment.id)} class="quiet-link">
                Cancel
              </a>
            </div>
          </form>
        )}
      </div>
      <section aria-labelledby="diff-title">
        <h2 id="diff-title">What changes for applications</h2>
        <VersionDiff
          before={before}
          after={after}
          beforeTitle={
            before ? `v${before.version} — live on ${experiment.label} (control)` : "nothing live"
          }
          afterTitle={`v${after.version} — after promotion (${variant.key})`}
        />
      </section>
    </Page>
  );
}

export function registerResultsPages(ui: Hono<UiEnv>) {
  ui.get("/prompts/:name/experiments/:id/results", signedIn(), async (c) => {
    const { row, experiment } = await experimentOfPage(c);
    const parsed = ResultsQuery.safeParse({
      engine: c.req.query("engine") || undefined,
      sequential: c.req.query("sequential") || undefined,
    });
    const query = parsed.success ? parsed.data : ResultsQuery.parse({});
    const ctx = { ...readContext(c), telemetry: c.var.modules.telemetry };
    let results: ExperimentResults | null = null;
    let missing: { text: string; alert: boolean } | undefined;
    try {
      results = await experimentResults(ctx, row.projectId, experiment.id, query);
    } catch (error) {
      if (!(error instanceof ProblemError) || error.status < 500) throw error;
      missing =
        error.code === "telemetry_not_configured"
          ? {
              text: "Telemetry is not deployed in this Cuecard, so there are no results. Deploy the telemetry worker and bind it to the admin worker as TELEMETRY.",
              alert: false,
            }
          : {
              text: "Telemetry did not answer, so the results cannot be computed. Try again in a minute.",
              alert: true,
            };
    }
    const project = await getProject(readContext(c), row.projectId);
    const canPromote = capabilitiesOf(c.get("actor"), project, row).moveLabel(experiment.label);
    return render(
      c,
      <ResultsPage
        c={c}
        prompt={row}
        experiment={experiment}
        results={results}
        missing={missing}
        canPromote={canPromote}
      />,
      missing?.alert ? 503 : 200,
    );
  });

  ui.get("/prompts/:name/experiments/:id/promote", signedIn(), async (c) => {
    const { row, experiment } = await experimentOfPage(c);
    const key = c.req.query("variant") ?? "";
    const variant = experiment.variants.find((candidate) => candidate.key === key);
    if (!variant) {
      throw new ProblemError(
        "not_found",
        `Experiment '${experiment.key}' has no variant '${key}' to promote.`,
      );
    }
    const ctx = readContext(c);
    const controlVersion = experiment.control.version;
    const [before, after, project] = await Promise.all([
      controlVersion === null ? undefined : getVersion(ctx, row, controlVersion),
      getVersion(ctx, row, variant.version),
      getProject(ctx, row.projectId),
    ]);
    const live = experiment.state === "running" || experiment.state === "paused";
    const canPromote = capabilitiesOf(c.get("actor"), project, row).moveLabel(experiment.label);
    const blocked = !live
      ? `Experiment '${experiment.key}' is ${experiment.state}: only a running or paused experiment can be stopped with a promotion.`
      : !canPromote
        ? `Promoting moves ${experiment.label}, which needs the rights to move it.`
        : undefined;
    return render(
      c,
      <PromoteConfirmPage
        c={c}
        prompt={row}
        experiment={experiment}
        variant={variant}
        before={before}
        after={after}
        blocked={blocked}
      />,
    );
  });
}
