import { LATEST_LABEL } from "@cuecard/core/names";
import { fieldErrors, ProblemError } from "@cuecard/core/problem";
import type { Hono } from "hono";
import type { z } from "zod";
import {
  Breadcrumbs,
  CsrfField,
  FormError,
  LabelBadge,
  Notice,
  Page,
  promptPath,
  Time,
} from "../../../../admin/components/layout";
import { render } from "../../../../admin/render";
import { signedIn, type UiContext, type UiEnv } from "../../../../admin/session";
import { settableLabelName, versionNumber } from "../../../platform/fields";
import { mutationContext, readContext } from "../../../platform/http/app";
import { capabilitiesOf } from "../../access/access";
import { getProject } from "../../projects/projects";
import { type LabelView, listLabels, moveLabel, planRollback, rollbackLabel } from "../labels";
import type { PromptRow } from "../prompts";
import { getVersion, listVersions, type VersionView } from "../versions";
import { VersionDiff } from "./diff";
import { type LabelChoice, LabelPicker, labelChoiceOf } from "./label-picker";
import { promptOfPage } from "./prompts";

/** What a promote or rollback will change, shown before the user confirms it. */
interface LabelChange {
  kind: "promote" | "rollback";
  label: string;
  /** The label as the page saw it; its rev is sent back so a concurrent move is caught. */
  current: LabelView | undefined;
  live: VersionView | undefined;
  candidate: VersionView | undefined;
}

function versionTitle(v: VersionView, suffix: string) {
  return `v${v.version} — ${suffix}`;
}

function ConfirmPage(props: {
  c: UiContext;
  prompt: PromptRow;
  change: LabelChange;
  versions: VersionView[];
  /** Promote: the labels to choose from (this prompt's and the project's protected ones). */
  labels?: string[];
  /** Promote: the label is created by this promotion, as the user chose "New label". */
  isNew?: boolean;
  /** Why the user cannot make this change (role, nothing to change), instead of a button. */
  blocked?: string;
  labelError?: string;
  formError?: string;
}) {
  const { c, prompt, change } = props;
  const rollback = change.kind === "rollback";
  const verb = rollback ? "Roll back" : "Promote";
  const action = rollback
    ? promptPath(prompt.name, `/labels/${change.label}/rollback`)
    : promptPath(prompt.name, "/promote");
  const candidate = change.candidate;
  return (
    <Page title={`${verb} ${prompt.name}`} actor={c.get("actor")} csrfToken={c.get("csrfToken")}>
      <Breadcrumbs
        trail={[
          { href: "/", text: "Prompts" },
          { href: promptPath(prompt.name), text: prompt.name },
          { text: rollback ? `Roll back ${change.label}` : "Promote" },
        ]}
      />
      <h1>
        {rollback ? (
          <>
            Roll back <LabelBadge name={change.label} /> of {prompt.name}
          </>
        ) : (
          <>
            Promote {candidate ? `v${candidate.version}` : "a version"} of {prompt.name}
          </>
        )}
      </h1>
      <form
        method="get"
        action={rollback ? action : promptPath(prompt.name, "/promote")}
        class="filters"
      >
        {rollback ? null : (
          <LabelPicker
            labels={props.labels ?? []}
            chosen={change.label}
            isNew={props.isNew ?? false}
            error={props.labelError}
          />
        )}
        <div class="field">
          <label for="version">{rollback ? "Roll back to" : "Version"}</label>
          <select id="version" name={rollback ? "to" : "version"}>
            {candidate ? null : (
              <option value="" selected>
                Choose a version
              </option>
            )}
            {props.versions.map((v) => (
              <option value={String(v.version)} selected={v.version === candidate?.version}>
                v{v.version} — {v.commitMessage ?? "no message"}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" class="button-secondary">
          Show changes
        </button>
      </form>

      <div class="card confirm">
        <FormError message={props.formError} />
        {change.label && !props.labelError ? (
          <p class="summary">
            <LabelBadge name={change.label} />{" "}
            {change.live ? (
              <>
                serves <strong>v{change.live.version}</strong> now
                {change.current ? (
                  <span class="muted">
                    {" "}
                    (moved by {change.current.updatedBy}, <Time iso={change.current.updatedAt} />)
                  </span>
                ) : null}
              </>
            ) : (
              <>does not exist yet</>
            )}
            {candidate ? (
              <>
                {" "}
                → will serve <strong>v{candidate.version}</strong>
              </>
            ) : null}
          </p>
        ) : null}
        {props.isNew && !props.blocked ? (
          <p class="small">This promotion creates the new label {change.label}.</p>
        ) : null}
        {props.blocked ? (
          <Notice>{props.blocked}</Notice>
        ) : candidate ? (
          <form method="post" action={action}>
            <CsrfField token={c.get("csrfToken")} />
            <input type="hidden" name="label" value={change.label} />
            {props.isNew ? <input type="hidden" name="createLabel" value="true" /> : null}
            <input type="hidden" name="version" value={String(candidate.version)} />
            <input
              type="hidden"
              name="expectedRev"
              value={change.current ? String(change.current.rev) : ""}
            />
            <div class="form-actions">
              <button type="submit" class={rollback ? "button-danger" : "button-primary"}>
                {rollback
                  ? `Roll back ${change.label} to v${candidate.version}`
                  : `Promote v${candidate.version} to ${change.label}`}
              </button>
              <a href={promptPath(prompt.name)} class="quiet-link">
                Cancel
              </a>
            </div>
          </form>
        ) : null}
      </div>
      {candidate && !props.labelError ? (
        <section aria-labelledby="diff-title">
          <h2 id="diff-title">What changes for applications</h2>
          <VersionDiff
            before={change.live}
            after={candidate}
            beforeTitle={
              change.live ? versionTitle(change.live, `live on ${change.label}`) : "nothing live"
            }
            afterTitle={versionTitle(
              candidate,
              rollback ? "after the rollback" : "after promotion",
            )}
          />
        </section>
      ) : null}
    </Page>
  );
}

function ConflictPage(props: {
  c: UiContext;
  prompt: PromptRow;
  label: string;
  current: LabelView | undefined;
  detail?: string;
  retry: string;
}) {
  const { c, prompt, current } = props;
  return (
    <Page title="Label moved meanwhile" actor={c.get("actor")} csrfToken={c.get("csrfToken")}>
      <Breadcrumbs
        trail={[
          { href: "/", text: "Prompts" },
          { href: promptPath(prompt.name), text: prompt.name },
          { text: "Conflict" },
        ]}
      />
      <h1>Someone else changed {props.label} first</h1>
      <div class="notice notice-error" role="alert">
        <p>
          <strong>Nothing was changed.</strong> While you were reviewing,{" "}
          <LabelBadge name={props.label} /> of {prompt.name} moved
          {current ? (
            <>
              {" "}
              to <strong>v{current.version}</strong> (by {current.updatedBy},{" "}
              <Time iso={current.updatedAt} />)
            </>
          ) : null}
          .
        </p>
        {props.detail ? <p class="small">{props.detail}</p> : null}
      </div>
      <p>
        <a class="button button-primary" href={props.retry}>
          Review again with the current state
        </a>{" "}
        <a class="quiet-link" href={promptPath(prompt.name)}>
          Back to {prompt.name}
        </a>
      </p>
    </Page>
  );
}

/**
 * Runs a label move; if someone moved the label first (409), answers with the conflict page
 * showing what is live now instead of overwriting it.
 */
async function conflictPageOn409(
  c: UiContext,
  row: PromptRow,
  label: string,
  retry: string,
  move: () => Promise<unknown>,
): Promise<Response | undefined> {
  try {
    await move();
    return undefined;
  } catch (error) {
    if (!(error instanceof ProblemError && error.status === 409)) throw error;
    const { current } = await labelState(c, row, label);
    return render(
      c,
      <ConflictPage
        c={c}
        prompt={row}
        label={label}
        current={current}
        detail={error.code === "stale_revision" ? undefined : error.message}
        retry={retry}
      />,
      409,
    );
  }
}

async function labelState(c: UiContext, row: PromptRow, label: string) {
  const ctx = readContext(c);
  const current = (await listLabels(ctx, row)).find((l) => l.name === label);
  const live = current ? await getVersion(ctx, row, current.version) : undefined;
  return { current, live };
}

/** The labels a promotion can pick: this prompt's (but `latest`) and the project's protected. */
async function labelChoices(c: UiContext, row: PromptRow, protectedLabels: string[]) {
  const own = (await listLabels(readContext(c), row)).map((l) => l.name);
  const names = new Set([...protectedLabels, ...own]);
  names.delete(LATEST_LABEL);
  return [...names].sort();
}

/**
 * The label the promote page's picker asks for: one of `labels`, or a new one only when "New
 * label…" was chosen. Without a choice: the first protected label it has (production, usually).
 */
function pickedLabel(c: UiContext, labels: string[]): LabelChoice {
  const raw = c.req.query("label");
  // The promote picker has no "no label" choice: an empty one is no choice yet.
  if (raw === undefined || raw === "") {
    const label = labels.includes("production") ? "production" : labels[0];
    // A prompt with no label yet: the picker opens on "New label…", nothing refused yet.
    return label ? { label, isNew: false } : { label: "", isNew: true };
  }
  return labelChoiceOf(raw, c.req.query("newLabel") ?? "", labels);
}

/** A value from a URL or hidden field, checked with the API's schema; refused as a 422. */
function checked<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ProblemError("validation_failed", `The ${field} is not valid.`, {
    errors: fieldErrors(field, result.error.issues),
  });
}

function formText(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  return typeof value === "string" ? value : "";
}

/** `expectedRev` as the page saw it: empty means "the label did not exist yet". */
function expectedRevOf(raw: string): number | null {
  return raw === "" ? null : Number(raw);
}

export function registerLabelPages(ui: Hono<UiEnv>) {
  ui.get("/prompts/:name/promote", signedIn(), async (c) => {
    const row = await promptOfPage(c);
    const ctx = readContext(c);
    const project = await getProject(ctx, row.projectId);
    const labels = await labelChoices(c, row, project.protectedLabels);
    const choice = pickedLabel(c, labels);
    const parsedVersion = versionNumber.safeParse(c.req.query("version") ?? row.latestVersion);
    const versions = (await listVersions(ctx, row, { limit: 200 })).items;
    const candidate = parsedVersion.success
      ? versions.find((v) => v.version === parsedVersion.data)
      : undefined;
    const label = choice.label;
    const { current, live } =
      choice.error || label === ""
        ? { current: undefined, live: undefined }
        : await labelState(c, row, label);
    let blocked: string | undefined;
    if (choice.error || label === "") blocked = "Choose a label to see what would change.";
    else if (row.archivedAt) blocked = "This prompt is archived; its labels cannot move.";
    else if (!capabilitiesOf(c.get("actor"), project, row).moveLabel(label))
      blocked = `${label} is protected: only publishers and admins can move it. Ask one to promote this version.`;
    else if (candidate && live?.version === candidate.version)
      blocked = `${label} already serves v${candidate.version}.`;
    return render(
      c,
      <ConfirmPage
        c={c}
        prompt={row}
        change={{ kind: "promote", label, current, live, candidate }}
        versions={versions}
        labels={labels}
        isNew={choice.isNew}
        blocked={blocked}
        labelError={choice.error}
      />,
      choice.error ? 422 : 200,
    );
  });

  ui.post("/prompts/:name/promote", signedIn(), async (c) => {
    const row = await promptOfPage(c);
    const body = await c.req.parseBody();
    const label = checked(settableLabelName, formText(body, "label"), "label");
    const version = checked(versionNumber, formText(body, "version"), "version");
    const project = await getProject(readContext(c), row.projectId);
    const labels = await labelChoices(c, row, project.protectedLabels);
    if (!labels.includes(label) && formText(body, "createLabel") !== "true") {
      throw new ProblemError(
        "validation_failed",
        `${row.name} has no label '${label}'. Choose "New label…" on the promote page to create it.`,
        { errors: [{ field: "label", message: "is not a label of this prompt" }] },
      );
    }
    const retry = promptPath(row.name, `/promote?version=${version}&label=${label}`);
    const conflict = await conflictPageOn409(c, row, label, retry, () =>
      moveLabel(mutationContext(c), row, label, {
        version,
        expectedRev: expectedRevOf(formText(body, "expectedRev")),
      }),
    );
    if (conflict) return conflict;
    return c.redirect(promptPath(row.name, `?moved=${label}`), 303);
  });

  ui.get("/prompts/:name/labels/:label/rollback", signedIn(), async (c) => {
    const row = await promptOfPage(c);
    const ctx = readContext(c);
    const label = checked(settableLabelName, c.req.param("label"), "label");
    const to = c.req.query("to");
    const plan = await planRollback(
      ctx,
      row,
      label,
      to === undefined || to === "" ? undefined : checked(versionNumber, to, "to"),
    );
    const { current } = plan;
    const live = await getVersion(ctx, row, current.version);
    const versions = (await listVersions(ctx, row, { limit: 200 })).items;
    const candidate = versions.find((v) => v.version === plan.target);
    // Without history there is no "before": the user chooses, nothing is preselected.
    const blocked =
      plan.target === undefined &&
      capabilitiesOf(c.get("actor"), undefined, row).rollbackLabel(label)
        ? `${label} has no earlier version in its history. Choose the version to roll back to.`
        : plan.blocked?.message;
    return render(
      c,
      <ConfirmPage
        c={c}
        prompt={row}
        change={{ kind: "rollback", label, current, live, candidate }}
        versions={versions.filter((v) => v.version !== current.version)}
        blocked={blocked}
      />,
    );
  });

  ui.post("/prompts/:name/labels/:label/rollback", signedIn(), async (c) => {
    const row = await promptOfPage(c);
    const body = await c.req.parseBody();
    const label = checked(settableLabelName, c.req.param("label"), "label");
    const toVersion = checked(versionNumber, formText(body, "version"), "version");
    const expectedRev = expectedRevOf(formText(body, "expectedRev"));
    const retry = promptPath(row.name, `/labels/${label}/rollback?to=${toVersion}`);
    const conflict = await conflictPageOn409(c, row, label, retry, () =>
      rollbackLabel(mutationContext(c), row, label, {
        toVersion,
        expectedRev: expectedRev ?? undefined,
      }),
    );
    if (conflict) return conflict;
    return c.redirect(promptPath(row.name, `?moved=${label}&rollback=1`), 303);
  });
}
