import { EXPERIMENT_ARMS_MAX } from "@cuecard/core/limits";
import { LATEST_LABEL } from "@cuecard/core/names";
import { ProblemError } from "@cuecard/core/problem";
import type { Hono } from "hono";
import {
  Breadcrumbs,
  CsrfField,
  describedBy,
  FieldError,
  FormError,
  LabelBadge,
  Notice,
  Page,
  promptPath,
  Time,
} from "../../../../admin/components/layout";
import { render } from "../../../../admin/render";
import { projectOf, signedIn, type UiContext, type UiEnv } from "../../../../admin/session";
import { mutationContext, readContext } from "../../../platform/http/app";
import { capabilitiesOf } from "../../access/access";
import { getProject } from "../../projects/projects";
import { listLabels } from "../../prompts/labels";
import { promptOfPage } from "../../prompts/pages/prompts";
import type { PromptRow } from "../../prompts/prompts";
import { listVersions, type VersionView } from "../../prompts/versions";
import {
  createExperiment,
  type ExperimentView,
  getExperimentWithExposures,
  listExperiments,
  pauseExperiment,
  resumeExperiment,
  startExperiment,
  stopExperiment,
} from "../experiments";
import { type ExperimentWithExposuresView, experimentId } from "../schemas";
import {
  draftFromForm,
  type ExperimentDraft,
  type ExperimentFormErrors,
  emptyDraft,
  errorsOfFields,
  experimentInputOf,
  firstErrorField,
  GUARDRAIL_ROWS,
  METRIC_KINDS,
} from "./experiment-form";

/**
 * The experiments of a prompt in the admin UI: a section on the prompt page, a form for a draft,
 * and a page per experiment with its arms, live exposure counts and its start, pause, resume and
 * stop. The pages call the same verbs as the API, which check every rule and permission.
 */

export const experimentsPath = (name: string, rest = "") => promptPath(name, `/experiments${rest}`);

const percent = (fraction: number) => `${Number((fraction * 100).toFixed(4))} %`;

export function StateBadge({ state }: { state: ExperimentView["state"] }) {
  return <span class={`status status-experiment-${state}`}>{state}</span>;
}

/** The prompt page's section: the prompt's experiments, newest first. */
export function PromptExperiments(props: {
  name: string;
  experiments: ExperimentView[];
  canDraft: boolean;
}) {
  return (
    <section aria-labelledby="experiments-title">
      <div class="section-head">
        <h2 id="experiments-title">Experiments</h2>
        {props.canDraft ? (
          <a class="button button-secondary" href={experimentsPath(props.name, "/new")}>
            New experiment
          </a>
        ) : null}
      </div>
      {props.experiments.length === 0 ? (
        <p class="muted">
          No experiment yet. An experiment splits a label between versions, each user (or other
          unit) always getting the same one.
        </p>
      ) : (
        <table class="table">
          <caption class="visually-hidden">Experiments of {props.name}</caption>
          <thead>
            <tr>
              <th scope="col">Experiment</th>
              <th scope="col">Label</th>
              <th scope="col">State</th>
              <th scope="col">Arms</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {props.experiments.map((experiment) => (
              <tr>
                <th scope="row">
                  <a href={experimentsPath(props.name, `/${experiment.id}`)}>{experiment.key}</a>
                </th>
                <td>
                  <LabelBadge name={experiment.label} />
                </td>
                <td>
                  <StateBadge state={experiment.state} />
                </td>
                <td>
                  {[
                    `${experiment.control.key} ${percent(experiment.control.weight)}`,
                    ...experiment.variants.map(
                      (variant) =>
                        `${variant.key} (v${variant.version}) ${percent(variant.weight)}`,
                    ),
                  ].join(" · ")}
                </td>
                <td>
                  <Time iso={experiment.createdAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** What the prompt page needs for its section. */
export async function loadPromptExperiments(c: UiContext, prompt: PromptRow) {
  const page = await listExperiments(readContext(c), prompt.projectId, {
    prompt: prompt.name,
    limit: 50,
  });
  return page.items;
}

/** Labels an experiment can split: the prompt's own, never `latest` (it moves by itself). */
async function labelChoices(c: UiContext, prompt: PromptRow): Promise<string[]> {
  const labels = await listLabels(readContext(c), prompt);
  return labels.map((label) => label.name).filter((name) => name !== LATEST_LABEL);
}

function NewExperimentPage(props: {
  c: UiContext;
  prompt: PromptRow;
  draft: ExperimentDraft;
  errors: ExperimentFormErrors;
  labels: string[];
  versions: VersionView[];
}) {
  const { c, prompt, draft, errors } = props;
  const focus = firstErrorField(draft, errors);
  // The first field with an error takes the focus when the refused form comes back, so a
  // keyboard or screen-reader user lands on it; the summary above is announced as an alert.
  const field = (id: string, hint = false) => ({
    ...describedBy(id, errors[id], hint),
    name: id,
    autofocus: focus === id ? true : undefined,
  });
  const fieldErrorCount = Object.keys(errors).filter((id) => id !== "form").length;
  const canAddVariant = draft.variants.length < EXPERIMENT_ARMS_MAX - 1;
  return (
    <Page
      title={`New experiment on ${prompt.name}`}
      actor={c.get("actor")}
      csrfToken={c.get("csrfToken")}
    >
      <Breadcrumbs
        trail={[
          { href: "/", text: "Prompts" },
          { href: promptPath(prompt.name), text: prompt.name },
          { text: "New experiment" },
        ]}
      />
      <h1>New experiment on {prompt.name}</h1>
      <p class="lead">
        A draft changes nothing for applications. Starting it splits the label: the control is the
        version the label serves at that moment.
      </p>
      <form method="post" action={experimentsPath(prompt.name)} class="card" novalidate>
        {/* Enter in a text field clicks the first submit button: create, not "Add a variant". */}
        <button type="submit" name="intent" value="create" class="visually-hidden" tabindex={-1}>
          Create draft
        </button>
        <CsrfField token={c.get("csrfToken")} />
        <input type="hidden" name="variantCount" value={String(draft.variants.length)} />
        <FormError
          message={
            errors.form ??
            (fieldErrorCount > 0
              ? `The experiment was not created: ${fieldErrorCount === 1 ? "one field needs" : `${fieldErrorCount} fields need`} attention.`
              : undefined)
          }
        />
        <div class="field-row">
          <div class="field grow">
            <label for="key">Key</label>
            <input type="text" value={draft.key} autocomplete="off" {...field("key", true)} />
            <p class="hint" id="key-hint">
              Its name in responses and telemetry, e.g. reply-tone: lower-case a–z, 0–9, _ and -.
            </p>
            <FieldError id="key-error" message={errors.key} />
          </div>
          <div class="field grow">
            <label for="label">Label to split</label>
            <select {...field("label")}>
              {props.labels.map((name) => (
                <option value={name} selected={name === draft.label}>
                  {name}
                </option>
              ))}
            </select>
            <FieldError id="label-error" message={errors.label} />
          </div>
        </div>
        <div class="field">
          <label for="description">Description</label>
          <input
            type="text"
            value={draft.description}
            placeholder="What does it test?"
            {...field("description")}
          />
          <FieldError id="description-error" message={errors.description} />
        </div>
        <div class="field">
          <label for="unit">Unit</label>
          <input type="text" value={draft.unit} {...field("unit", true)} />
          <p class="hint" id="unit-hint">
            What your app sends as <code>?unit=</code>, in words: "user id", "session id".
          </p>
          <FieldError id="unit-error" message={errors.unit} />
        </div>

        <fieldset aria-describedby={errors.weights ? "weights-error" : undefined}>
          <legend>Arms and weights (in %, adding up to 100)</legend>
          <FieldError id="weights-error" message={errors.weights} />
          <div class="field-row">
            <div class="field grow">
              <label for="controlKey">Control key</label>
              <input type="text" value={draft.controlKey} {...field("controlKey", true)} />
              <p class="hint" id="controlKey-hint">
                The control serves the label's version when the experiment starts.
              </p>
              <FieldError id="controlKey-error" message={errors.controlKey} />
            </div>
            <div class="field">
              <label for="controlWeight">Control weight (%)</label>
              <input
                type="text"
                inputmode="decimal"
                value={draft.controlWeight}
                {...field("controlWeight")}
                aria-describedby={
                  [
                    errors.controlWeight ? "controlWeight-error" : "",
                    errors.weights ? "weights-error" : "",
                  ]
                    .filter(Boolean)
                    .join(" ") || undefined
                }
                aria-invalid={errors.controlWeight || errors.weights ? "true" : undefined}
              />
              <FieldError id="controlWeight-error" message={errors.controlWeight} />
            </div>
          </div>
          {draft.variants.map((variant, index) => (
            <div class="field-row">
              <div class="field grow">
                <label for={`variant-${index}-key`}>Variant {index + 1} key</label>
                <input type="text" value={variant.key} {...field(`variant-${index}-key`)} />
                <FieldError
                  id={`variant-${index}-key-error`}
                  message={errors[`variant-${index}-key`]}
                />
              </div>
              <div class="field grow">
                <label for={`variant-${index}-version`}>Variant {index + 1} version</label>
                <select {...field(`variant-${index}-version`)}>
                  {props.versions.map((version) => (
                    <option
                      value={String(version.version)}
                      selected={String(version.version) === variant.version}
                    >
                      v{version.version} — {version.commitMessage ?? "no message"}
                    </option>
                  ))}
                </select>
                <FieldError
                  id={`variant-${index}-version-error`}
                  message={errors[`variant-${index}-version`]}
                />
              </div>
              <div class="field">
                <label for={`variant-${index}-weight`}>Variant {index + 1} weight (%)</label>
                <input
                  type="text"
                  inputmode="decimal"
                  value={variant.weight}
                  {...field(`variant-${index}-weight`)}
                />
                <FieldError
                  id={`variant-${index}-weight-error`}
                  message={errors[`variant-${index}-weight`]}
                />
              </div>
            </div>
          ))}
          {canAddVariant ? (
            <button type="submit" name="intent" value="add-variant" class="button-secondary">
              Add a variant
            </button>
          ) : null}
        </fieldset>

        <div class="field">
          <label for="coverage">Coverage (%)</label>
          <input
            type="text"
            inputmode="decimal"
            value={draft.coverage}
            {...field("coverage", true)}
          />
          <p class="hint" id="coverage-hint">
            The share of units in the experiment at all; the others get the control.
          </p>
          <FieldError id="coverage-error" message={errors.coverage} />
        </div>

        <fieldset>
          <legend>Primary metric: what decides</legend>
          <div class="field-row">
            <div class="field grow">
              <label for="primaryKind">Metric</label>
              <select {...field("primaryKind")}>
                {METRIC_KINDS.map((metric) => (
                  <option value={metric.kind} selected={metric.kind === draft.primaryKind}>
                    {metric.text}
                  </option>
                ))}
              </select>
              <FieldError id="primaryKind-error" message={errors.primaryKind} />
            </div>
            <div class="field grow">
              <label for="primaryName">Score or conversion name</label>
              <input type="text" value={draft.primaryName} {...field("primaryName", true)} />
              <p class="hint" id="primaryName-hint">
                For a score or a conversion, e.g. helpful or ticket_resolved.
              </p>
              <FieldError id="primaryName-error" message={errors.primaryName} />
            </div>
          </div>
        </fieldset>

        <fieldset>
          <legend>Guardrails: how much worse than the control each may get</legend>
          {Array.from({ length: GUARDRAIL_ROWS }, (_, index) => {
            const row = draft.guardrails[index] ?? { kind: "", name: "", maxRegressionPct: "" };
            return (
              <div class="field-row">
                <div class="field grow">
                  <label for={`guardrail-${index}-kind`}>Guardrail {index + 1}</label>
                  <select {...field(`guardrail-${index}-kind`)}>
                    <option value="" selected={row.kind === ""}>
                      None
                    </option>
                    {METRIC_KINDS.map((metric) => (
                      <option value={metric.kind} selected={metric.kind === row.kind}>
                        {metric.text}
                      </option>
                    ))}
                  </select>
                  <FieldError
                    id={`guardrail-${index}-kind-error`}
                    message={errors[`guardrail-${index}-kind`]}
                  />
                </div>
                <div class="field grow">
                  <label for={`guardrail-${index}-name`}>Guardrail {index + 1} name</label>
                  <input type="text" value={row.name} {...field(`guardrail-${index}-name`)} />
                  <FieldError
                    id={`guardrail-${index}-name-error`}
                    message={errors[`guardrail-${index}-name`]}
                  />
                </div>
                <div class="field">
                  <label for={`guardrail-${index}-max`}>
                    Guardrail {index + 1} max. regression (%)
                  </label>
                  <input
                    type="text"
                    inputmode="decimal"
                    value={row.maxRegressionPct}
                    {...field(`guardrail-${index}-max`)}
                  />
                  <FieldError
                    id={`guardrail-${index}-max-error`}
                    message={errors[`guardrail-${index}-max`]}
                  />
                </div>
              </div>
            );
          })}
        </fieldset>

        <fieldset>
          <legend>When a guardrail regresses, and when a variant wins</legend>
          <div class="field">
            <label for="onRegression">On a guardrail regression</label>
            <select {...field("onRegression", true)}>
              <option value="pause" selected={draft.onRegression !== "rollback"}>
                Pause: everyone gets the control; resume or stop it yourself
              </option>
              <option value="rollback" selected={draft.onRegression === "rollback"}>
                Roll back: pause, then stop with the label on the control version
              </option>
            </select>
            <p class="hint" id="onRegression-hint">
              The rollout schedule checks the guardrails every minute with always-valid intervals.
            </p>
            <FieldError id="onRegression-error" message={errors.onRegression} />
          </div>
          <div class="field checkbox">
            <input
              type="checkbox"
              id="autoPromote"
              name="autoPromote"
              checked={draft.autoPromote}
              aria-describedby="autoPromote-hint"
            />
            <label for="autoPromote">Promote a winner automatically</label>
            <p class="hint" id="autoPromote-hint">
              Off: Cuecard recommends the winner on the experiment page and a person promotes it.
            </p>
          </div>
        </fieldset>

        <div class="form-actions">
          <button type="submit" name="intent" value="create" class="button-primary">
            Create draft
          </button>
          <a href={promptPath(prompt.name)} class="quiet-link">
            Cancel
          </a>
        </div>
      </form>
    </Page>
  );
}

type Action = "start" | "pause" | "resume" | "stop";

const DONE: Record<Action, string> = {
  start: "Started: the label now serves the split.",
  pause: "Paused: the label serves the control to everyone.",
  resume: "Resumed: every unit gets the variant it had.",
  stop: "Stopped.",
};

function ExperimentPage(props: {
  c: UiContext;
  prompt: PromptRow;
  experiment: ExperimentWithExposuresView;
  /** The version the label serves now. */
  labelVersion: number | undefined;
  canChange: boolean;
  notice?: string;
  error?: string;
}) {
  const { c, prompt, experiment } = props;
  const action = (name: Action) => experimentsPath(prompt.name, `/${experiment.id}/${name}`);
  const controlVersion = experiment.control.version ?? props.labelVersion;
  const arms = [
    {
      key: experiment.control.key,
      version: controlVersion,
      weight: experiment.control.weight,
      control: true,
    },
    ...experiment.variants.map((variant) => ({ ...variant, control: false })),
  ];
  const live = experiment.state === "running" || experiment.state === "paused";
  return (
    <Page
      title={`${experiment.key} · ${prompt.name}`}
      actor={c.get("actor")}
      csrfToken={c.get("csrfToken")}
    >
      <Breadcrumbs
        trail={[
          { href: "/", text: "Prompts" },
          { href: promptPath(prompt.name), text: prompt.name },
          { text: `Experiment ${experiment.key}` },
        ]}
      />
      <div class="page-head">
        <div>
          <h1>
            {experiment.key} <StateBadge state={experiment.state} />
          </h1>
          <p class="lead">
            Splits <LabelBadge name={experiment.label} /> of {prompt.name} by {experiment.unit}
            {experiment.description ? `: ${experiment.description}` : "."}
          </p>
        </div>
      </div>
      <FormError message={props.error} />
      {props.notice ? <Notice kind="ok">{props.notice}</Notice> : null}
      <ScheduleDecisionNotice
        prompt={prompt}
        experiment={experiment}
        canPromote={props.canChange && live}
      />

      <section aria-labelledby="arms-title">
        <div class="section-head">
          <h2 id="arms-title">Arms and exposures</h2>
          <span>
            {experiment.state === "draft" ? null : (
              <a
                class="button button-secondary"
                href={experimentsPath(prompt.name, `/${experiment.id}/results`)}
              >
                Results
              </a>
            )}{" "}
            <a class="quiet-link" href={experimentsPath(prompt.name, `/${experiment.id}`)}>
              Refresh counts
            </a>
          </span>
        </div>
        <ExposureNotice experiment={experiment} />
        <table class="table">
          <caption class="visually-hidden">Arms of {experiment.key}</caption>
          <thead>
            <tr>
              <th scope="col">Arm</th>
              <th scope="col">Version</th>
              <th scope="col" class="numeric">
                Weight
              </th>
              <th scope="col" class="numeric">
                Units exposed
              </th>
            </tr>
          </thead>
          <tbody>
            {arms.map((arm) => (
              <tr>
                <th scope="row">
                  {arm.key}
                  {arm.control ? <span class="muted small"> control</span> : null}
                  {experiment.promotedVariant === arm.key ? (
                    <span class="muted small"> promoted</span>
                  ) : null}
                </th>
                <td>
                  {arm.version === undefined || arm.version === null ? (
                    <span class="muted">the label's version at start</span>
                  ) : (
                    <a href={promptPath(prompt.name, `/versions/${arm.version}`)}>v{arm.version}</a>
                  )}
                  {arm.control && experiment.control.version === null ? (
                    <span class="muted small"> (served now; fixed at start)</span>
                  ) : null}
                </td>
                <td class="numeric">{percent(arm.weight)}</td>
                <td class="numeric" data-arm={arm.key}>
                  {experiment.exposures
                    ? (experiment.exposures[arm.key] ?? 0).toLocaleString("en-US")
                    : "—"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <dl class="facts">
          <dt>Coverage</dt>
          <dd>{percent(experiment.coverage)} of units</dd>
          <dt>Seed</dt>
          <dd>
            <code>{experiment.seed}</code>
          </dd>
          <dt>Hash version</dt>
          <dd>{experiment.hashVersion}</dd>
          <dt>Primary metric</dt>
          <dd>{metricText(experiment.metrics.primary)}</dd>
          <dt>Guardrails</dt>
          <dd>
            {experiment.metrics.guardrails.length === 0
              ? "none"
              : experiment.metrics.guardrails
                  .map((g) => `${metricText(g.metric)} at most ${g.maxRegressionPct} % worse`)
                  .join("; ")}
          </dd>
          <dt>On a guardrail regression</dt>
          <dd>
            {experiment.onRegression === "rollback"
              ? "roll back: pause, then stop with the label on the control version"
              : "pause: everyone gets the control until someone resumes or stops it"}
          </dd>
          <dt>Promotion</dt>
          <dd>
            {experiment.autoPromote
              ? "automatic: the rollout schedule promotes a winner"
              : "a person promotes; Cuecard recommends a winner"}
          </dd>
          <dt>Created</dt>
          <dd>
            <Time iso={experiment.createdAt} /> by {experiment.createdBy}
          </dd>
          {experiment.startedAt ? (
            <>
              <dt>Started</dt>
              <dd>
                <Time iso={experiment.startedAt} />
              </dd>
            </>
          ) : null}
          {experiment.stoppedAt ? (
            <>
              <dt>Stopped</dt>
              <dd>
                <Time iso={experiment.stoppedAt} />
              </dd>
            </>
          ) : null}
        </dl>
      </section>

      {experiment.state === "stopped" ? null : (
        <section aria-labelledby="change-title">
          <h2 id="change-title">Change the experiment</h2>
          {!props.canChange ? (
            <Notice>
              Starting, pausing and stopping change what <LabelBadge name={experiment.label} />{" "}
              serves, so they need the rights to move it
              {prompt.archivedAt ? " (and this prompt is archived)" : ""}.
            </Notice>
          ) : (
            <div class="card">
              {experiment.state === "draft" ? (
                <form method="post" action={action("start")}>
                  <CsrfField token={c.get("csrfToken")} />
                  <p>
                    Starting fixes the control at the version <LabelBadge name={experiment.label} />{" "}
                    serves now
                    {props.labelVersion === undefined ? "" : ` (v${props.labelVersion})`} and
                    publishes the split to the edge.
                  </p>
                  <button type="submit" class="button-primary">
                    Start experiment
                  </button>
                </form>
              ) : null}
              {experiment.state === "running" ? (
                <form method="post" action={action("pause")}>
                  <CsrfField token={c.get("csrfToken")} />
                  <button type="submit" class="button-secondary">
                    Pause (everyone gets the control)
                  </button>
                </form>
              ) : null}
              {experiment.state === "paused" ? (
                <form method="post" action={action("resume")}>
                  <CsrfField token={c.get("csrfToken")} />
                  <button type="submit" class="button-primary">
                    Resume
                  </button>
                </form>
              ) : null}
              {live ? (
                <form method="post" action={action("stop")}>
                  <CsrfField token={c.get("csrfToken")} />
                  <fieldset>
                    <legend>Stop the experiment</legend>
                    <div class="field checkbox">
                      <input type="radio" id="promote-none" name="promote" value="" checked />
                      <label for="promote-none">
                        Stop without promoting: {experiment.label} keeps serving v{controlVersion}
                      </label>
                    </div>
                    {experiment.variants.map((variant) => (
                      <div class="field checkbox">
                        <input
                          type="radio"
                          id={`promote-${variant.key}`}
                          name="promote"
                          value={variant.key}
                        />
                        <label for={`promote-${variant.key}`}>
                          Promote {variant.key}: {experiment.label} moves from v{controlVersion} to
                          v{variant.version}
                        </label>
                      </div>
                    ))}
                  </fieldset>
                  <button type="submit" class="button-danger">
                    Stop experiment
                  </button>
                </form>
              ) : null}
            </div>
          )}
        </section>
      )}
    </Page>
  );
}

const DECISION_TITLE = {
  paused: "The rollout schedule paused this experiment",
  rolled_back: "The rollout schedule rolled this experiment back",
  promoted: "The rollout schedule promoted",
} as const;

/** The rollout schedule's latest decision (audited too), or its recommendation to promote. */
function ScheduleDecisionNotice(props: {
  prompt: PromptRow;
  experiment: ExperimentWithExposuresView;
  canPromote: boolean;
}) {
  const { prompt, experiment } = props;
  const decision = experiment.decision;
  if (!decision) return null;
  if (decision.action === "recommended") {
    // A recommendation outlives nothing: once the experiment stops, it is moot.
    if (experiment.state !== "running" && experiment.state !== "paused") return null;
    return (
      <section class="notice" aria-labelledby="recommendation-title" id="schedule-decision">
        <h2 id="recommendation-title">Cuecard recommends promoting {decision.variant}</h2>
        <p>
          {decision.reason}{" "}
          <span class="muted small">
            (<Time iso={decision.at} />)
          </span>
        </p>
        {props.canPromote ? (
          <a
            class="button button-primary"
            href={experimentsPath(
              prompt.name,
              `/${experiment.id}/promote?variant=${encodeURIComponent(decision.variant)}`,
            )}
          >
            Promote {decision.variant}
          </a>
        ) : null}
      </section>
    );
  }
  return (
    <section
      class={decision.action === "promoted" ? "notice" : "notice notice-error"}
      aria-labelledby="decision-title"
      id="schedule-decision"
    >
      <h2 id="decision-title">
        {DECISION_TITLE[decision.action]}
        {decision.action === "promoted" ? ` ${decision.variant}` : ""}
      </h2>
      <p>
        {decision.reason}{" "}
        <span class="muted small">
          (<Time iso={decision.at} />)
        </span>
      </p>
    </section>
  );
}

function ExposureNotice({ experiment }: { experiment: ExperimentWithExposuresView }) {
  if (experiment.telemetry === "not_deployed") {
    return (
      <Notice>
        Telemetry is not deployed in this Cuecard, so exposures are not counted. Deploy the
        telemetry worker and bind it to the admin worker as <code>TELEMETRY</code>.
      </Notice>
    );
  }
  if (experiment.telemetry === "unavailable") {
    return (
      <div class="notice notice-error" role="alert">
        Telemetry did not answer, so the exposure counts are missing. Try again in a minute.
      </div>
    );
  }
  return (
    <p class="muted small">
      Distinct units the edge served each arm so far, exact; a unit shows up within seconds of its
      first request.
    </p>
  );
}

export function metricText(metric: { kind: string; name?: string }): string {
  const text = METRIC_KINDS.find((m) => m.kind === metric.kind)?.text ?? metric.kind;
  return metric.name ? `${metric.kind} ${metric.name}` : text;
}

export async function experimentOfPage(c: UiContext) {
  const row = await promptOfPage(c);
  const parsed = experimentId.safeParse(c.req.param("id"));
  if (!parsed.success) {
    throw new ProblemError("not_found", `There is no experiment '${c.req.param("id")}'.`);
  }
  const ctx = { ...readContext(c), telemetry: c.var.modules.telemetry };
  const experiment = await getExperimentWithExposures(ctx, row.projectId, parsed.data);
  // An experiment of another prompt is not found under this one.
  if (experiment.prompt !== row.name) {
    throw new ProblemError("not_found", `Prompt '${row.name}' has no experiment '${parsed.data}'.`);
  }
  return { row, experiment };
}

async function renderExperiment(
  c: UiContext,
  options: { notice?: string; error?: string; status?: 200 | 403 | 409 | 422 } = {},
) {
  const { row, experiment } = await experimentOfPage(c);
  const ctx = readContext(c);
  const [labels, project] = await Promise.all([
    listLabels(ctx, row),
    getProject(ctx, row.projectId),
  ]);
  const canChange = capabilitiesOf(c.get("actor"), project, row).moveLabel(experiment.label);
  return render(
    c,
    <ExperimentPage
      c={c}
      prompt={row}
      experiment={experiment}
      labelVersion={labels.find((label) => label.name === experiment.label)?.version}
      canChange={canChange}
      notice={options.notice}
      error={options.error}
    />,
    options.status ?? 200,
  );
}

/** The transitions without a choice to make; stop takes the promotion. */
const TRANSITIONS = {
  start: startExperiment,
  pause: pauseExperiment,
  resume: resumeExperiment,
} as const;

export function registerExperimentPages(ui: Hono<UiEnv>) {
  ui.get("/prompts/:name/experiments/new", signedIn(), async (c) => {
    const row = await promptOfPage(c);
    const ctx = readContext(c);
    const [labels, versions, project] = await Promise.all([
      labelChoices(c, row),
      listVersions(ctx, row, { limit: 200 }),
      getProject(ctx, row.projectId),
    ]);
    const label = labels.find((name) => project.protectedLabels.includes(name)) ?? labels[0] ?? "";
    const draft = emptyDraft(
      label,
      versions.items.map((version) => version.version),
    );
    return render(
      c,
      <NewExperimentPage
        c={c}
        prompt={row}
        draft={draft}
        errors={{}}
        labels={labels}
        versions={versions.items}
      />,
    );
  });

  ui.post("/prompts/:name/experiments", signedIn(), async (c) => {
    const row = await promptOfPage(c);
    const body = await c.req.parseBody();
    const draft = draftFromForm(body, EXPERIMENT_ARMS_MAX - 1);
    const ctx = readContext(c);
    const [labels, versions] = await Promise.all([
      labelChoices(c, row),
      listVersions(ctx, row, { limit: 200 }),
    ]);
    const again = (errors: ExperimentFormErrors, status: 200 | 403 | 409 | 422 = 422) =>
      render(
        c,
        <NewExperimentPage
          c={c}
          prompt={row}
          draft={draft}
          errors={errors}
          labels={labels}
          versions={versions.items}
        />,
        status,
      );
    if (body.intent === "add-variant") {
      draft.variants.push({
        key: "",
        version: String(versions.items[0]?.version ?? ""),
        weight: "0",
      });
      return again({}, 200);
    }
    const converted = experimentInputOf(row.name, draft);
    if (converted.errors) return again(converted.errors);
    let created: ExperimentView;
    try {
      created = await createExperiment(mutationContext(c), projectOf(c), converted.input);
    } catch (error) {
      if (!(error instanceof ProblemError) || error.status >= 500) throw error;
      const errors = error.errors?.length
        ? errorsOfFields(draft, error.errors)
        : { form: error.message };
      if (error.errors?.length && error.code !== "validation_failed") errors.form ??= error.message;
      return again(errors, error.status as 403 | 409 | 422);
    }
    return c.redirect(experimentsPath(row.name, `/${created.id}?created=1`), 303);
  });

  ui.get("/prompts/:name/experiments/:id", signedIn(), async (c) => {
    const done = c.req.query("done");
    const notice =
      c.req.query("created") === "1"
        ? "Draft created. Nothing changes for applications until it starts."
        : done && done in DONE
          ? DONE[done as Action]
          : undefined;
    return renderExperiment(c, { notice });
  });

  for (const action of ["start", "pause", "resume", "stop"] as const) {
    ui.post(`/prompts/:name/experiments/:id/${action}`, signedIn(), async (c) => {
      const { row, experiment } = await experimentOfPage(c);
      const body = await c.req.parseBody();
      const promote = typeof body.promote === "string" ? body.promote : "";
      try {
        if (action === "stop") {
          await stopExperiment(
            mutationContext(c),
            row.projectId,
            experiment.id,
            promote === "" ? {} : { promote },
          );
        } else {
          await TRANSITIONS[action](mutationContext(c), row.projectId, experiment.id);
        }
      } catch (error) {
        if (!(error instanceof ProblemError) || error.status >= 500) throw error;
        const detail = error.errors?.map((e) => e.message).join("; ");
        return renderExperiment(c, {
          error: detail ? `${error.message} ${detail}` : error.message,
          status: error.status as 403 | 409 | 422,
        });
      }
      return c.redirect(experimentsPath(row.name, `/${experiment.id}?done=${action}`), 303);
    });
  }
}
