import type { ExperimentResults } from "../../admin";
import { adminFor, type CliContext, type CommandResult } from "../context";
import { ExitCode } from "../exit-codes";

/** `cuecard experiment results <id>`: an experiment's figures and decision, as a CI gate. */

type MetricResult = ExperimentResults["metrics"][number];
type VariantResult = MetricResult["variants"][number];
type Decision = ExperimentResults["decision"];

/**
 * 0 only for a winner, so `cuecard experiment results … && promote` is safe; waiting and
 * something-is-wrong are told apart, so CI can keep polling on the first and alert on the second.
 */
export function exitCodeOf(decision: Decision): ExitCode {
  switch (decision) {
    case "winner":
      return ExitCode.ok;
    case "not_enough_data":
    case "no_winner_yet":
      return ExitCode.undecided;
    case "srm":
    case "guardrail_failed":
      return ExitCode.blocked;
  }
}

function metricName(metric: MetricResult["metric"]): string {
  switch (metric.kind) {
    case "score":
    case "conversion":
      return `${metric.kind} "${"name" in metric ? metric.name : ""}"`;
    case "error_rate":
      return "error rate";
    case "latency_p95":
      return "p95 latency (ms)";
    case "ttft_p95":
      return "p95 time to first token (ms)";
    case "cost":
      return "cost per call (USD)";
    case "tokens":
      return "tokens per call";
  }
}

const DASH = "—";

/** Four significant digits, thousands separated above 1,000. */
function figure(value: number | null): string {
  if (value === null) return DASH;
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString("en-US");
  return String(Number(value.toPrecision(4)));
}

function percent(value: number | null, signed = true): string {
  if (value === null) return DASH;
  const text = `${(value * 100).toFixed(1)} %`;
  return signed && value > 0 ? `+${text}` : text;
}

function pValue(value: number | null): string {
  if (value === null) return DASH;
  return value < 0.0001 ? "<0.0001" : value.toFixed(4);
}

/** Left-aligned columns, two spaces apart. */
function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, column) =>
    Math.max(...rows.map((row) => [...(row[column] ?? "")].length)),
  );
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths?.[column] ?? 0))
      .join("  ")
      .trimEnd(),
  );
}

function metricLines(results: ExperimentResults, metric: MetricResult): string[] {
  const bayesian = results.engine === "bayesian";
  const guardrail = metric.guardrail;
  const heading =
    metric.role === "primary"
      ? `Primary: ${metricName(metric.metric)} (${metric.higherIsBetter ? "higher" : "lower"} is better)`
      : `Guardrail: ${metricName(metric.metric)} (no more than ${guardrail?.maxRegressionPct} % worse)`;
  const header = [
    "variant",
    "units",
    "value ± sd",
    "effect",
    `${Math.round((1 - results.alpha) * 100)} % interval`,
    ...(bayesian ? ["chance to win", "risk"] : ["p-value"]),
    ...(guardrail ? ["guardrail"] : []),
  ];
  const row = (variant: VariantResult, index: number) => [
    variant.variant,
    variant.units.toLocaleString("en-US"),
    variant.value === null
      ? DASH
      : variant.sd === null
        ? figure(variant.value)
        : `${figure(variant.value)} ± ${figure(variant.sd)}`,
    percent(variant.relativeEffect),
    variant.interval ? `[${percent(variant.interval[0])}, ${percent(variant.interval[1])}]` : DASH,
    ...(bayesian
      ? [percent(variant.chanceToWin, false), figure(variant.risk)]
      : [pValue(variant.pValue)]),
    ...(guardrail ? [index === 0 ? DASH : (guardrail.states[variant.variant] ?? DASH)] : []),
  ];
  return [heading, ...table([header, ...metric.variants.map(row)]).map((line) => `  ${line}`)];
}

const INTERVALS: Record<ExperimentResults["intervalKind"], string> = {
  sequential: "sequential (always-valid) intervals",
  fixed: "fixed-horizon intervals",
  bayesian: "Bayesian credible intervals",
};

/** The report a person reads in a terminal or a CI log. */
export function resultsReport(results: ExperimentResults): string[] {
  const observed = Object.entries(results.srm.observed)
    .map(([arm, units]) => `${arm} ${units.toLocaleString("en-US")}`)
    .join(" · ");
  const srm =
    results.srm.pValue === null
      ? "not checked yet (too few units)"
      : results.srm.pValue.toPrecision(2);
  return [
    `Experiment ${results.experimentId}: ${results.engine}, ${INTERVALS[results.intervalKind]}`,
    `Exposed units: ${observed || "none yet"}`,
    `Sample-ratio mismatch p-value: ${srm}`,
    "",
    ...results.metrics.flatMap((metric) => [...metricLines(results, metric), ""]),
    `Decision: ${results.decision}${results.winner ? ` (${results.winner})` : ""}`,
    results.reason,
  ];
}

export async function experimentResults(
  ctx: CliContext,
  options: { id: string; engine?: "frequentist" | "bayesian"; sequential?: boolean },
): Promise<CommandResult> {
  const { config, admin } = await adminFor(ctx);
  const results = await admin.experimentResults(config.project, options.id, {
    engine: options.engine,
    sequential: options.sequential,
  });
  for (const line of resultsReport(results)) ctx.print(line);
  return { exitCode: exitCodeOf(results.decision), data: results };
}
