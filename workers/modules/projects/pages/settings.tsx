import { EXPERIMENT_ARMS_MAX, LABELS_PER_REQUEST_MAX } from "@cuecard/core/limits";
import { LATEST_LABEL } from "@cuecard/core/names";
import { ProblemError } from "@cuecard/core/problem";
import type { Hono } from "hono";
import type { Child } from "hono/jsx";
import {
  Breadcrumbs,
  CsrfField,
  describedBy,
  FieldError,
  FormError,
  LabelBadge,
  Notice,
  Page,
} from "../../../../admin/components/layout";
import {
  type FormBody,
  formText,
  formValues,
  problemFields,
} from "../../../../admin/components/settings";
import { render } from "../../../../admin/render";
import { projectOf, signedIn, type UiContext, type UiEnv } from "../../../../admin/session";
import { mutationContext, readContext } from "../../../platform/http/app";
import { capabilitiesOf } from "../../access/access";
import { MODEL_PROVIDER_SECTION } from "../../playground/pages/provider";
import { getProject, type ProjectView, updateProject } from "../projects";

/** What every section of the settings page gets to render itself. */
export interface SettingsSectionProps {
  c: UiContext;
  project: ProjectView;
  /** Set when this section's own form was refused: field name → message. */
  errors?: Record<string, string>;
  /** What the user asked for, re-shown when the form was refused. */
  draft?: { protect: string[]; newLabel: string };
  /** What the section's `load` read for this request, if it has one. */
  data?: unknown;
}

/**
 * One section of the settings page. The page is this list, in order: a capability adds its
 * settings by adding an entry (its own component, its own form posting to its own route).
 */
export interface SettingsSection {
  id: string;
  title: string;
  Section: (props: SettingsSectionProps) => Child;
  /** Reads what the section shows (pages render synchronously, so it is read first). */
  load?: (c: UiContext) => Promise<unknown>;
}

export const SETTINGS_SECTIONS: SettingsSection[] = [
  { id: "protected-labels", title: "Protected labels", Section: ProtectedLabelsSection },
  { id: "telemetry", title: "Telemetry and experiments", Section: TelemetrySection },
  MODEL_PROVIDER_SECTION,
];

/** Each section's loaded data, by section id. */
async function loadSections(c: UiContext): Promise<Record<string, unknown>> {
  const loaded = await Promise.all(
    SETTINGS_SECTIONS.map(async ({ id, load }) => [id, load ? await load(c) : undefined] as const),
  );
  return Object.fromEntries(loaded);
}

function ProtectedLabelsSection({ c, project, errors = {}, draft }: SettingsSectionProps) {
  const canManage = capabilitiesOf(c.get("actor")).manageProject;
  const current = project.protectedLabels;
  if (!canManage) {
    return (
      <>
        <p>Only publishers and admins can move these labels; editors can move the others.</p>
        {current.length ? (
          <ul class="chips">
            {current.map((name) => (
              <li>
                <LabelBadge name={name} />
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">No label is protected.</p>
        )}
        <p class="muted small">Only admins can change this list.</p>
      </>
    );
  }
  const checked = new Set(draft?.protect ?? current);
  return (
    <form method="post" action="/settings/protected-labels">
      <CsrfField token={c.get("csrfToken")} />
      <FormError message={errors.form} />
      <p>Only publishers and admins can move these labels; editors can move the others.</p>
      {current.length ? (
        <fieldset>
          <legend>Protected now (untick to unprotect)</legend>
          {current.map((name) => (
            <div class="field checkbox">
              <input
                type="checkbox"
                id={`protect-${name}`}
                name="protect"
                value={name}
                checked={checked.has(name)}
              />
              <label for={`protect-${name}`}>{name}</label>
            </div>
          ))}
        </fieldset>
      ) : (
        <p class="muted">No label is protected.</p>
      )}
      <div class="field">
        <label for="newLabel">Also protect (optional)</label>
        <input
          type="text"
          name="newLabel"
          value={draft?.newLabel ?? ""}
          autocomplete="off"
          placeholder="e.g. production"
          {...describedBy("newLabel", errors.newLabel, true)}
        />
        <p class="hint" id="newLabel-hint">
          A label name; it need not exist yet. At most {LABELS_PER_REQUEST_MAX} labels can be
          protected. "{LATEST_LABEL}" moves by itself and cannot be protected.
        </p>
        <FieldError id="newLabel-error" message={errors.newLabel} />
      </div>
      <div class="form-actions">
        <button type="submit" class="button-primary">
          Save protected labels
        </button>
      </div>
    </form>
  );
}

function TelemetrySection({ c }: SettingsSectionProps) {
  const deployed = c.var.modules.telemetry.deployed;
  return (
    <dl class="facts">
      <dt>Telemetry worker</dt>
      <dd>
        {deployed ? (
          <>
            <strong>Deployed.</strong> Applications' generations, scores and exposures are recorded;
            each prompt's Metrics page shows them.
          </>
        ) : (
          <>
            <strong>Not deployed.</strong> Prompts are served as usual; metrics and experiment
            results stay empty until the telemetry worker is deployed and bound to the admin worker
            as <code>TELEMETRY</code> (see the README).
          </>
        )}
      </dd>
      <dt>Experiments</dt>
      <dd>
        Run on a label from a prompt's page, with up to {EXPERIMENT_ARMS_MAX} variants.{" "}
        {deployed
          ? "Their exposures are counted by telemetry."
          : "Without telemetry, exposures are not counted."}
      </dd>
    </dl>
  );
}

function SettingsPage(props: {
  c: UiContext;
  project: ProjectView;
  notice?: string;
  data: Record<string, unknown>;
  /** The section whose form was refused, with its errors and draft. */
  refused?: { id: string; errors: Record<string, string>; draft: SettingsSectionProps["draft"] };
}) {
  const { c, project } = props;
  return (
    <Page title="Settings" actor={c.get("actor")} csrfToken={c.get("csrfToken")}>
      <Breadcrumbs trail={[{ text: "Settings" }]} />
      <h1>Settings of {project.name}</h1>
      {props.notice ? <Notice kind="ok">{props.notice}</Notice> : null}
      {SETTINGS_SECTIONS.map(({ id, title, Section }) => {
        const refused = props.refused?.id === id ? props.refused : undefined;
        return (
          <section class="card" aria-labelledby={`${id}-title`}>
            <h2 id={`${id}-title`} class="card-title">
              {title}
            </h2>
            <Section
              c={c}
              project={project}
              errors={refused?.errors}
              draft={refused?.draft}
              data={props.data[id]}
            />
          </section>
        );
      })}
    </Page>
  );
}

export function registerSettingsPages(ui: Hono<UiEnv>) {
  ui.get("/settings", signedIn(), async (c) => {
    const project = await getProject(readContext(c), projectOf(c));
    const saved = c.req.query("saved") === "protected-labels";
    return render(
      c,
      <SettingsPage
        c={c}
        project={project}
        data={await loadSections(c)}
        notice={saved ? "Saved the protected labels." : undefined}
      />,
    );
  });

  ui.post("/settings/protected-labels", signedIn(), async (c) => {
    const body = (await c.req.parseBody({ all: true })) as FormBody;
    const draft = { protect: formValues(body, "protect"), newLabel: formText(body, "newLabel") };
    const added = draft.newLabel.trim();
    const protectedLabels = [...new Set(added ? [...draft.protect, added] : draft.protect)];
    try {
      await updateProject(mutationContext(c), projectOf(c), { protectedLabels });
      return c.redirect("/settings?saved=protected-labels", 303);
    } catch (error) {
      if (!(error instanceof ProblemError) || error.status >= 500 || error.status === 403) {
        throw error;
      }
      // The API names the bad entry `protectedLabels.<index>`: the only free-text one is the new.
      const { protectedLabels: labelError, ...errors } = problemFields(error);
      if (labelError) errors.newLabel = labelError;
      const project = await getProject(readContext(c), projectOf(c));
      return render(
        c,
        <SettingsPage
          c={c}
          project={project}
          data={await loadSections(c)}
          refused={{ id: "protected-labels", errors, draft }}
        />,
        error.status as 409 | 422,
      );
    }
  });
}
