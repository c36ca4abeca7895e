import { ProblemError } from "@cuecard/core/problem";
import { isPlaceholder, type PromptContent, type VariableSpec } from "@cuecard/core/prompt";
import { RenderError, renderPrompt } from "@cuecard/core/template";
import type { Hono } from "hono";
import type { Child } from "hono/jsx";
import {
  Breadcrumbs,
  CsrfField,
  describedBy,
  FieldError,
  FormError,
  LabelBadge,
  Page,
  promptPath,
  Time,
} from "../../../../admin/components/layout";
import { render } from "../../../../admin/render";
import { signedIn, type UiContext, type UiEnv } from "../../../../admin/session";
import { mutationContext, readContext } from "../../../platform/http/app";
import { capabilitiesOf } from "../../access/access";
import { type LabelView, listLabels } from "../labels";
import type { PromptRow } from "../prompts";
import { createVersion, toPromptView } from "../prompts";
import { getVersion, listVersions, type VersionView } from "../versions";
import { VersionDiff } from "./diff";
import { labelOptions, promptOfPage } from "./prompts";
import { DefaultSave, VersionFields } from "./version-editor";
import {
  applyIntent,
  draftFromForm,
  draftFromVersion,
  errorsOfProblem,
  type FieldErrors,
  type VersionDraft,
  variablesOfDraft,
  versionInputOf,
} from "./version-form";

function NewVersionPage(props: {
  c: UiContext;
  prompt: PromptRow;
  draft: VersionDraft;
  errors: FieldErrors;
  labelOptions: string[];
}) {
  const { c, prompt } = props;
  const next = prompt.latestVersion + 1;
  return (
    <Page
      title={`New version of ${prompt.name}`}
      actor={c.get("actor")}
      csrfToken={c.get("csrfToken")}
    >
      <Breadcrumbs
        trail={[
          { href: "/", text: "Prompts" },
          { href: promptPath(prompt.name), text: prompt.name },
          { text: `New version` },
        ]}
      />
      <h1>
        New version of {prompt.name} <span class="muted">(will be v{next})</span>
      </h1>
      <p class="muted">
        Starts from v{prompt.latestVersion}. Saving creates v{next}; versions are never changed
        afterwards.
      </p>
      <form
        method="post"
        action={promptPath(prompt.name, "/versions/new")}
        class="card"
        data-variables-form
      >
        <DefaultSave />
        <CsrfField token={c.get("csrfToken")} />
        <FormError message={props.errors.form} />
        <VersionFields
          draft={props.draft}
          errors={props.errors}
          variables={variablesOfDraft(props.draft)}
          labelOptions={props.labelOptions}
        />
        <div class="form-actions">
          <button type="submit" name="intent" value="save" class="button-primary">
            Save v{next}
          </button>
          <a href={promptPath(prompt.name)} class="quiet-link">
            Cancel
          </a>
        </div>
      </form>
    </Page>
  );
}

function PromptContentView({ prompt }: { prompt: PromptContent }) {
  if (typeof prompt === "string") return <pre class="code">{prompt}</pre>;
  return (
    <ol class="message-list">
      {prompt.map((item) =>
        isPlaceholder(item) ? (
          <li>
            <span class="role-tag role-tag-placeholder">placeholder</span>
            <pre class="code">{`messages given as '${item.name}'`}</pre>
          </li>
        ) : (
          <li>
            <span class={`role-tag role-tag-${item.role}`}>{item.role}</span>
            <pre class="code">{item.content}</pre>
          </li>
        ),
      )}
    </ol>
  );
}

/**
 * A preview value is JSON when it reads as a number, boolean, list or object (so `true` turns a
 * section on, as it would in an app's request), and plain text otherwise.
 */
export function previewValue(raw: string): unknown {
  const trimmed = raw.trim();
  if (/^(true|false|-?\d+(\.\d+)?|\[.*\]|\{.*\})$/s.test(trimmed)) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return raw;
    }
  }
  return raw;
}

type Preview =
  | { kind: "none" }
  | { kind: "rendered"; output: PromptContent }
  | { kind: "refused"; missing: string[]; unknown: string[]; reason: string };

/** What a version includes (prompt references), as a tree, and the prompt as the edge serves it. */
function Includes(props: { resolved: NonNullable<VersionView["resolved"]> }) {
  const { graph, prompt } = props.resolved;
  const tree = (key: string, depth: number): Child => {
    const included = graph.dependencies[key] ?? [];
    if (included.length === 0 || depth > 5) return null;
    return (
      <ul>
        {included.map((item) => (
          <li>
            <a href={promptPath(item.name, `/versions/${item.version}`)}>
              {item.name} v{item.version}
            </a>
            {item.label ? <span class="muted"> (its {item.label} label)</span> : null}
            {tree(`${item.name}#${item.version}`, depth + 1)}
          </li>
        ))}
      </ul>
    );
  };
  return (
    <section aria-labelledby="includes-title">
      <h2 id="includes-title">Includes</h2>
      <p class="muted small">
        Prompt references, resolved against the labels as they are now. A label move republishes
        this version.
      </p>
      {tree(`${graph.root.name}#${graph.root.version}`, 0)}
      <h3>As served</h3>
      <PromptContentView prompt={prompt} />
    </section>
  );
}

function VersionPage(props: {
  c: UiContext;
  version: VersionView;
  latestVersion: number;
  /** The version production serves, if the prompt has that label: what a change is weighed against. */
  production: number | undefined;
  canPromote: boolean;
  values: Record<string, string>;
  preview: Preview;
}) {
  const { c, version, preview } = props;
  const missing = new Set(preview.kind === "refused" ? preview.missing : []);
  return (
    <Page
      title={`${version.name} v${version.version}`}
      actor={c.get("actor")}
      csrfToken={c.get("csrfToken")}
    >
      <Breadcrumbs
        trail={[
          { href: "/", text: "Prompts" },
          { href: promptPath(version.name), text: version.name },
          { text: `v${version.version}` },
        ]}
      />
      <div class="page-head">
        <div>
          <h1>
            {version.name} <span class="muted">v{version.version}</span>{" "}
            {version.labels.map((label) => (
              <LabelBadge name={label} />
            ))}
          </h1>
          <p class="lead">
            {version.commitMessage ?? <span class="muted">No commit message</span>}
          </p>
          <p class="muted small">
            By {version.author}, <Time iso={version.createdAt} /> ·{" "}
            <code>{version.hash.slice(0, 19)}</code>
          </p>
        </div>
        <div class="actions">
          <a
            class="button button-secondary"
            href={promptPath(version.name, `/versions/${version.version}/playground`)}
          >
            Try in playground
          </a>
          {props.canPromote ? (
            <a
              class="button button-primary"
              href={promptPath(version.name, `/promote?version=${version.version}`)}
            >
              Promote v{version.version}…
            </a>
          ) : null}
          {props.production && props.production !== version.version ? (
            <a
              class="button button-secondary"
              href={promptPath(
                version.name,
                `/compare?from=${props.production}&to=${version.version}`,
              )}
            >
              Compare with production (v{props.production})
            </a>
          ) : version.version > 1 ? (
            <a
              class="button button-secondary"
              href={promptPath(
                version.name,
                `/compare?from=${version.version - 1}&to=${version.version}`,
              )}
            >
              Changes from v{version.version - 1}
            </a>
          ) : null}
          {version.version < props.latestVersion ? (
            <a
              class="button button-secondary"
              href={promptPath(version.name, `/versions/${version.version + 1}`)}
            >
              Next: v{version.version + 1}
            </a>
          ) : null}
        </div>
      </div>
      <div class="two-columns">
        <section aria-labelledby="content-title">
          <h2 id="content-title">{version.type === "text" ? "Template" : "Messages"}</h2>
          <PromptContentView prompt={version.prompt} />
          <h2>Model config</h2>
          <pre class="code">{JSON.stringify(version.config, null, 2)}</pre>
          {version.resolved ? <Includes resolved={version.resolved} /> : null}
        </section>
        <section aria-labelledby="preview-title" class="preview">
          <h2 id="preview-title">Preview</h2>
          <p class="muted small">
            Rendered with the edge's own renderer. Values like <code>true</code>, <code>3</code> or{" "}
            <code>["a","b"]</code> are read as JSON; anything else as text. Leave a field empty to
            leave the variable out.
          </p>
          <form
            method="get"
            action={promptPath(version.name, `/versions/${version.version}`)}
            class="card"
          >
            <input type="hidden" name="preview" value="1" />
            {version.variables.length === 0 ? (
              <p class="muted">This version has no variables.</p>
            ) : null}
            {version.variables.map((variable) => {
              const id = `var-${variable.name}`;
              const error = missing.has(variable.name)
                ? "Required: fill this in to render."
                : undefined;
              return (
                <div class="field">
                  <label for={id}>
                    <code>{variable.name}</code>
                    {variable.required ? null : <span class="muted small"> optional</span>}
                  </label>
                  <input
                    type="text"
                    name={`var.${variable.name}`}
                    value={props.values[variable.name] ?? ""}
                    {...describedBy(id, error)}
                  />
                  <FieldError id={`${id}-error`} message={error} />
                </div>
              );
            })}
            <button type="submit" class="button-primary">
              Render preview
            </button>
          </form>
          {preview.kind === "rendered" ? (
            <div class="rendered" aria-live="polite">
              <h3 class="small-heading">Rendered prompt</h3>
              <PromptContentView prompt={preview.output} />
            </div>
          ) : null}
          {preview.kind === "refused" ? (
            <FormError message={`The edge would refuse this render: ${preview.reason}.`} />
          ) : null}
        </section>
      </div>
    </Page>
  );
}

function ComparePage(props: {
  c: UiContext;
  name: string;
  versions: VersionView[];
  from: VersionView;
  to: VersionView;
}) {
  const { c, from, to } = props;
  const title = (v: VersionView) =>
    `v${v.version}${v.labels.length ? ` (${v.labels.join(", ")})` : ""}`;
  const picker = (name: string, label: string, selected: number) => (
    <div class="field">
      <label for={name}>{label}</label>
      <select id={name} name={name}>
        {props.versions.map((v) => (
          <option value={String(v.version)} selected={v.version === selected}>
            {title(v)} — {v.commitMessage ?? "no message"}
          </option>
        ))}
      </select>
    </div>
  );
  return (
    <Page title={`Compare ${props.name}`} actor={c.get("actor")} csrfToken={c.get("csrfToken")}>
      <Breadcrumbs
        trail={[
          { href: "/", text: "Prompts" },
          { href: promptPath(props.name), text: props.name },
          { text: "Compare" },
        ]}
      />
      <h1>
        Compare v{from.version} and v{to.version}
      </h1>
      <form method="get" action={promptPath(props.name, "/compare")} class="filters">
        {picker("from", "From", from.version)}
        {picker("to", "To", to.version)}
        <button type="submit" class="button-secondary">
          Compare
        </button>
      </form>
      <section aria-labelledby="changes-title">
        <h2 id="changes-title">Changes</h2>
        <VersionDiff before={from} after={to} beforeTitle={title(from)} afterTitle={title(to)} />
      </section>
    </Page>
  );
}

function productionOf(labels: LabelView[]): number | undefined {
  return labels.find((label) => label.name === "production")?.version;
}

function versionParam(value: string | undefined, fallback: number): number {
  const number = Number(value);
  return Number.isInteger(number) && number >= 1 ? number : fallback;
}

export function registerVersionPages(ui: Hono<UiEnv>) {
  ui.get("/prompts/:name/versions/new", signedIn(), async (c) => {
    const row = await promptOfPage(c);
    const ctx = readContext(c);
    const [latest, prompt] = await Promise.all([
      getVersion(ctx, row, row.latestVersion),
      toPromptView(ctx, row),
    ]);
    return render(
      c,
      <NewVersionPage
        c={c}
        prompt={row}
        draft={draftFromVersion(row.type, latest)}
        errors={{}}
        labelOptions={await labelOptions(c, prompt)}
      />,
    );
  });

  ui.post("/prompts/:name/versions/new", signedIn(), async (c) => {
    const row = await promptOfPage(c);
    const ctx = mutationContext(c);
    const body = await c.req.parseBody();
    const draft = draftFromForm(body, row.type);
    const options = await labelOptions(c, await toPromptView(ctx, row));
    const again = (errors: FieldErrors, status: 200 | 403 | 409 | 422 = 422) =>
      render(
        c,
        <NewVersionPage c={c} prompt={row} draft={draft} errors={errors} labelOptions={options} />,
        status,
      );
    if (applyIntent(draft, typeof body.intent === "string" ? body.intent : ""))
      return again({}, 200);
    const version = versionInputOf(draft);
    if (version.errors) return again(version.errors);
    try {
      const saved = await createVersion(ctx, row, version.input);
      return c.redirect(promptPath(row.name, `?saved=${saved.version}`), 303);
    } catch (error) {
      if (!(error instanceof ProblemError) || error.status >= 500) throw error;
      const errors = errorsOfProblem(error, row.type);
      if (error.code === "forbidden" && draft.label) {
        errors.label = error.message;
        delete errors.form;
      }
      return again(errors, error.status as 403 | 409 | 422);
    }
  });

  ui.get("/prompts/:name/versions/:version{[0-9]+}", signedIn(), async (c) => {
    const row = await promptOfPage(c);
    const ctx = readContext(c);
    const [version, labels] = await Promise.all([
      getVersion(ctx, row, Number(c.req.param("version"))),
      listLabels(ctx, row),
    ]);
    // What the edge serves: with the prompts it includes resolved.
    const served = version.resolved ?? version;
    const values: Record<string, string> = {};
    for (const variable of served.variables) {
      const raw = c.req.query(`var.${variable.name}`);
      if (raw !== undefined) values[variable.name] = raw;
    }
    let preview: Preview = { kind: "none" };
    if (c.req.query("preview") === "1") {
      const given: Record<string, unknown> = {};
      for (const [name, raw] of Object.entries(values)) {
        if (raw !== "") given[name] = previewValue(raw);
      }
      try {
        preview = {
          kind: "rendered",
          // A preview has no messages for placeholders: they show where they would go.
          output: renderPrompt(
            served.prompt,
            served.variables as VariableSpec[],
            given,
            {},
            "keep",
          ),
        };
      } catch (error) {
        if (!(error instanceof RenderError)) throw error;
        preview = { kind: "refused", ...error.problems, reason: error.message };
      }
    }
    return render(
      c,
      <VersionPage
        c={c}
        version={version}
        latestVersion={row.latestVersion}
        production={productionOf(labels)}
        canPromote={capabilitiesOf(c.get("actor"), undefined, row).promote}
        values={values}
        preview={preview}
      />,
    );
  });

  ui.get("/prompts/:name/compare", signedIn(), async (c) => {
    const row = await promptOfPage(c);
    const ctx = readContext(c);
    const to = versionParam(c.req.query("to"), row.latestVersion);
    // What matters before promoting is the difference from what is live: production if it
    // serves another version, else the previous version.
    const production = productionOf(await listLabels(ctx, row));
    const from = versionParam(
      c.req.query("from"),
      production !== undefined && production !== to ? production : Math.max(1, to - 1),
    );
    const [versions, before, after] = await Promise.all([
      listVersions(ctx, row, { limit: 200 }),
      getVersion(ctx, row, from),
      getVersion(ctx, row, to),
    ]);
    return render(
      c,
      <ComparePage c={c} name={row.name} versions={versions.items} from={before} to={after} />,
    );
  });

  // The editor's script asks which variables the template uses as the author types; the answer
  // comes from the same derivation the save uses.
  ui.post("/variables", signedIn(), async (c) => {
    const body = await c.req.parseBody();
    const draft = draftFromForm(body, body.messageCount !== undefined ? "chat" : "text");
    const found = variablesOfDraft(draft);
    return c.json({
      variables: found.variables.map((v) => ({ name: v.name, required: v.required })),
      error: found.error ?? null,
    });
  });
}
