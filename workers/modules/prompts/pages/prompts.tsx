import { LATEST_LABEL } from "@cuecard/core/names";
import { ProblemError } from "@cuecard/core/problem";
import type { PromptType } from "@cuecard/core/prompt";
import type { Hono } from "hono";
import {
  Breadcrumbs,
  CsrfField,
  describedBy,
  EllipsisLinkText,
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
import { promptName } from "../../../platform/fields";
import { mutationContext, readContext } from "../../../platform/http/app";
import { capabilitiesOf } from "../../access/access";
import type { ExperimentView } from "../../experiments/experiments";
import { loadPromptExperiments, PromptExperiments } from "../../experiments/pages/experiments";
import { loadPromptTrend, PromptTrend, type PromptTrendData } from "../../metrics/pages/trend";
import { getProject } from "../../projects/projects";
import { type LabelMoveView, labelHistoryOf } from "../labels";
import type { PromptRow } from "../prompts";
import {
  createPrompt,
  findPrompt,
  listPrompts,
  type PromptView,
  toPromptView,
  updatePrompt,
} from "../prompts";
import { listVersions, type VersionView } from "../versions";
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

/** The prompt a page is about, in the signed-in user's project (another project's is 404). */
export async function promptOfPage(c: UiContext): Promise<PromptRow> {
  const name = c.req.param("name") ?? "";
  return findPrompt(readContext(c), projectOf(c), name);
}

/** Labels an author may pick when saving: the project's protected ones and those in use. */
export async function labelOptions(c: UiContext, prompt?: PromptView): Promise<string[]> {
  const project = await getProject(readContext(c), projectOf(c));
  const names = new Set([...project.protectedLabels, "staging"]);
  for (const label of prompt?.labels ?? []) names.add(label.name);
  names.delete(LATEST_LABEL);
  return [...names].sort();
}

function PromptList(props: {
  c: UiContext;
  items: PromptView[];
  filter: { q: string; tag: string; label: string; archived: boolean };
  tags: string[];
  labels: string[];
  archivedName?: string;
}) {
  const { c, filter } = props;
  const filtered = filter.q || filter.tag || filter.label;
  return (
    <Page title="Prompts" actor={c.get("actor")} csrfToken={c.get("csrfToken")}>
      <div class="page-head">
        <h1>{filter.archived ? "Archived prompts" : "Prompts"}</h1>
        {capabilitiesOf(c.get("actor")).writePrompts ? (
          <a class="button button-primary" href="/new-prompt">
            New prompt
          </a>
        ) : null}
      </div>
      {props.archivedName ? <Notice kind="ok">Archived {props.archivedName}.</Notice> : null}
      <form method="get" action="/" class="filters" aria-label="Filter prompts">
        <div class="field">
          <label for="q">Search by name</label>
          <input type="search" id="q" name="q" value={filter.q} placeholder="e.g. support/" />
        </div>
        <div class="field">
          <label for="tag">Tag</label>
          <select id="tag" name="tag">
            <option value="">Any tag</option>
            {props.tags.map((name) => (
              <option value={name} selected={name === filter.tag}>
                {name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="label">Label</label>
          <select id="label" name="label">
            <option value="">Any label</option>
            {props.labels.map((name) => (
              <option value={name} selected={name === filter.label}>
                {name}
              </option>
            ))}
          </select>
        </div>
        <div class="field checkbox">
          <input
            type="checkbox"
            id="archived"
            name="archived"
            value="true"
            checked={filter.archived}
          />
          <label for="archived">Archived</label>
        </div>
        <button type="submit" class="button-secondary">
          Filter
        </button>
        {filtered || filter.archived ? (
          <a href="/" class="quiet-link">
            Clear
          </a>
        ) : null}
      </form>
      {props.items.length === 0 ? (
        <div class="empty">
          {filtered ? (
            <p>No prompt matches these filters.</p>
          ) : (
            <p>
              No prompts yet. <a href="/new-prompt">Create the first one</a>.
            </p>
          )}
        </div>
      ) : (
        <table class="table prompts-table">
          <caption class="visually-hidden">Prompts of project {c.get("actor").projectId}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Tags</th>
              <th scope="col">Labels: version served, last moved</th>
              <th scope="col">Versions</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {props.items.map((prompt) => (
              <tr>
                <td>
                  <a href={promptPath(prompt.name)} class="prompt-name">
                    {prompt.name}
                  </a>
                  <span class={`type type-${prompt.type}`}>{prompt.type}</span>
                  {prompt.description ? <p class="muted small">{prompt.description}</p> : null}
                </td>
                <td>
                  <ul class="chips">
                    {prompt.tags.map((name) => (
                      <li class="chip">{name}</li>
                    ))}
                  </ul>
                </td>
                <td>
                  <ul class="label-list">
                    {prompt.labels.map((label) => (
                      <li>
                        <LabelBadge name={label.name} version={label.version} />{" "}
                        <span class="muted small">
                          <Time iso={label.updatedAt} />
                        </span>
                      </li>
                    ))}
                  </ul>
                </td>
                <td class="numeric">{prompt.latestVersion}</td>
                <td>
                  <Time iso={prompt.updatedAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}

interface NewPromptDraft {
  name: string;
  description: string;
  tags: string;
  version: VersionDraft;
}

function NewPromptPage(props: {
  c: UiContext;
  draft: NewPromptDraft;
  errors: FieldErrors;
  labelOptions: string[];
}) {
  const { c, draft, errors } = props;
  const type = draft.version.type;
  return (
    <Page title="New prompt" actor={c.get("actor")} csrfToken={c.get("csrfToken")}>
      <Breadcrumbs trail={[{ href: "/", text: "Prompts" }, { text: "New prompt" }]} />
      <h1>New prompt</h1>
      <nav class="tabs" aria-label="Prompt type">
        <a href="/new-prompt?type=text" aria-current={type === "text" ? "page" : undefined}>
          Text template
        </a>
        <a href="/new-prompt?type=chat" aria-current={type === "chat" ? "page" : undefined}>
          Chat messages
        </a>
      </nav>
      <form method="post" action={`/new-prompt?type=${type}`} class="card" data-variables-form>
        <DefaultSave />
        <CsrfField token={c.get("csrfToken")} />
        <FormError message={errors.form} />
        <div class="field-row">
          <div class="field grow">
            <label for="name">Name</label>
            <input
              type="text"
              name="name"
              value={draft.name}
              required
              autocomplete="off"
              placeholder="support/triage"
              {...describedBy("name", errors.name, true)}
            />
            <p class="hint" id="name-hint">
              Letters, digits, spaces, ., _ and -, with / for folders, e.g. support/triage. It
              cannot be changed later.
            </p>
            <FieldError id="name-error" message={errors.name} />
          </div>
          <div class="field grow">
            <label for="tags">Tags (comma-separated)</label>
            <input
              type="text"
              name="tags"
              value={draft.tags}
              {...describedBy("tags", errors.tags)}
            />
            <FieldError id="tags-error" message={errors.tags} />
          </div>
        </div>
        <div class="field">
          <label for="description">Description</label>
          <input
            type="text"
            name="description"
            value={draft.description}
            {...describedBy("description", errors.description)}
          />
          <FieldError id="description-error" message={errors.description} />
        </div>
        <h2 class="section-title">Version 1</h2>
        <VersionFields
          draft={draft.version}
          errors={errors}
          variables={variablesOfDraft(draft.version)}
          labelOptions={props.labelOptions}
        />
        <div class="form-actions">
          <button type="submit" name="intent" value="save" class="button-primary">
            Create prompt
          </button>
          <a href="/" class="quiet-link">
            Cancel
          </a>
        </div>
      </form>
    </Page>
  );
}

function typeOf(value: string | undefined): PromptType {
  return value === "chat" ? "chat" : "text";
}

function tagsOf(value: string): string[] {
  return value
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
}

function PromptPage(props: {
  c: UiContext;
  prompt: PromptView;
  versions: VersionView[];
  history: LabelMoveView[];
  protectedLabels: string[];
  trend: PromptTrendData;
  experiments: ExperimentView[];
  notice?: string;
}) {
  const { c, prompt } = props;
  const archived = prompt.archivedAt !== null;
  const can = capabilitiesOf(c.get("actor"), { protectedLabels: props.protectedLabels }, prompt);
  const promoteTo = props.protectedLabels[0] ?? "production";
  return (
    <Page title={prompt.name} actor={c.get("actor")} csrfToken={c.get("csrfToken")}>
      <Breadcrumbs trail={[{ href: "/", text: "Prompts" }, { text: prompt.name }]} />
      <div class="page-head">
        <div>
          <h1>
            {prompt.name} <span class={`type type-${prompt.type}`}>{prompt.type}</span>
          </h1>
          {prompt.description ? <p class="lead">{prompt.description}</p> : null}
          <ul class="chips">
            {prompt.tags.map((name) => (
              <li class="chip">{name}</li>
            ))}
          </ul>
        </div>
        <div class="actions">
          {can.writePrompts ? (
            <a class="button button-primary" href={promptPath(prompt.name, "/versions/new")}>
              New version
            </a>
          ) : null}
          {prompt.latestVersion > 1 ? (
            <a class="button button-secondary" href={promptPath(prompt.name, "/compare")}>
              Compare versions
            </a>
          ) : null}
          <a class="button button-secondary" href={promptPath(prompt.name, "/metrics")}>
            Metrics
          </a>
          {can.archivePrompt ? (
            <a class="button button-danger-quiet" href={promptPath(prompt.name, "/archive")}>
              Archive…
            </a>
          ) : null}
        </div>
      </div>
      {archived ? (
        <Notice>
          This prompt was archived <Time iso={prompt.archivedAt ?? ""} />. Its labels are no longer
          served at the edge; its versions are kept.
        </Notice>
      ) : null}
      {props.notice ? <Notice kind="ok">{props.notice}</Notice> : null}

      <PromptTrend name={prompt.name} trend={props.trend} />

      <section aria-labelledby="labels-title">
        <h2 id="labels-title">Labels</h2>
        <table class="table">
          <thead>
            <tr>
              <th scope="col">Label</th>
              <th scope="col">Serves</th>
              <th scope="col">Moved by</th>
              <th scope="col">When</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {prompt.labels.map((label) => (
              <tr>
                <th scope="row">
                  <LabelBadge name={label.name} />
                  {props.protectedLabels.includes(label.name) ? (
                    <span class="muted small"> protected</span>
                  ) : null}
                </th>
                <td>
                  <a href={promptPath(prompt.name, `/versions/${label.version}`)}>
                    v{label.version}
                  </a>
                </td>
                <td>{label.updatedBy}</td>
                <td>
                  <Time iso={label.updatedAt} />
                </td>
                <td class="row-actions">
                  {can.rollbackLabel(label.name) ? (
                    <a href={promptPath(prompt.name, `/labels/${label.name}/rollback`)}>
                      Roll back {label.name}…
                    </a>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <PromptExperiments
        name={prompt.name}
        experiments={props.experiments}
        canDraft={can.draftExperiments}
      />

      <section aria-labelledby="versions-title">
        <h2 id="versions-title">Versions</h2>
        <table class="table timeline">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Commit message</th>
              <th scope="col">Author</th>
              <th scope="col">Created</th>
              <th scope="col">Labels</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {props.versions.map((version) => (
              <tr>
                <th scope="row">
                  <a href={promptPath(prompt.name, `/versions/${version.version}`)}>
                    v{version.version}
                  </a>
                </th>
                <td>{version.commitMessage ?? <span class="muted">No message</span>}</td>
                <td>{version.author}</td>
                <td>
                  <Time iso={version.createdAt} />
                </td>
                <td>
                  {version.labels.map((label) => (
                    <LabelBadge name={label} />
                  ))}
                </td>
                <td class="row-actions">
                  <a href={promptPath(prompt.name, `/versions/${version.version}`)}>
                    View &amp; preview<span class="visually-hidden"> v{version.version}</span>
                  </a>
                  {version.version > 1 ? (
                    <a
                      href={promptPath(
                        prompt.name,
                        `/compare?from=${version.version - 1}&to=${version.version}`,
                      )}
                    >
                      Changes<span class="visually-hidden"> in v{version.version}</span>
                    </a>
                  ) : null}
                  {can.moveLabel(promoteTo) && !version.labels.includes(promoteTo) ? (
                    <a
                      href={promptPath(
                        prompt.name,
                        `/promote?version=${version.version}&label=${promoteTo}`,
                      )}
                    >
                      <EllipsisLinkText
                        visible="Promote"
                        hidden={` v${version.version} to ${promoteTo}`}
                      />
                    </a>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section aria-labelledby="history-title">
        <h2 id="history-title">Label history</h2>
        {props.history.length === 0 ? (
          <p class="muted">No label has moved yet.</p>
        ) : (
          // Focusable: on a phone it scrolls sideways, and has no link to reach it by keyboard.
          <table class="table" tabindex={0} aria-labelledby="history-title">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Label</th>
                <th scope="col">From</th>
                <th scope="col">To</th>
                <th scope="col">Who</th>
                <th scope="col">Kind</th>
              </tr>
            </thead>
            <tbody>
              {props.history.map((move) => (
                <tr>
                  <td>
                    <Time iso={move.createdAt} />
                  </td>
                  <td>
                    <LabelBadge name={move.label} />
                  </td>
                  <td>
                    {move.fromVersion === null ? (
                      <span class="muted">—</span>
                    ) : (
                      `v${move.fromVersion}`
                    )}
                  </td>
                  <td>
                    {move.toVersion === null ? (
                      <span class="muted">deleted</span>
                    ) : (
                      `v${move.toVersion}`
                    )}
                  </td>
                  <td>{move.actor}</td>
                  <td>
                    {move.isRollback ? (
                      <span class="kind-rollback">rollback</span>
                    ) : move.fromVersion === null ? (
                      "set"
                    ) : (
                      "move"
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </Page>
  );
}

function ArchivePage(props: { c: UiContext; prompt: PromptView; error?: string }) {
  const { c, prompt } = props;
  return (
    <Page title={`Archive ${prompt.name}`} actor={c.get("actor")} csrfToken={c.get("csrfToken")}>
      <Breadcrumbs
        trail={[
          { href: "/", text: "Prompts" },
          { href: promptPath(prompt.name), text: prompt.name },
          { text: "Archive" },
        ]}
      />
      <h1>Archive {prompt.name}?</h1>
      <div class="card confirm">
        <FormError message={props.error} />
        <p>
          Archiving stops serving this prompt at the edge: applications asking for any of its labels
          ({prompt.labels.map((l) => l.name).join(", ")}) will get "not found". Its versions are
          kept, and it can be restored through the API.
        </p>
        <form method="post" action={promptPath(prompt.name, "/archive")}>
          <CsrfField token={c.get("csrfToken")} />
          <div class="form-actions">
            <button type="submit" class="button-danger">
              Archive {prompt.name}
            </button>
            <a href={promptPath(prompt.name)} class="quiet-link">
              Cancel
            </a>
          </div>
        </form>
      </div>
    </Page>
  );
}

async function historyOf(
  c: UiContext,
  prompt: PromptView,
  row: PromptRow,
): Promise<LabelMoveView[]> {
  const ctx = readContext(c);
  const all = await Promise.all(
    prompt.labels.map(
      async (label) => (await labelHistoryOf(ctx, row, label.name, { limit: 50 })).items,
    ),
  );
  // Label ids grow with time, so the merged history reads newest first like each label's own.
  return all
    .flat()
    .sort((a, b) => b.id - a.id)
    .slice(0, 100);
}

/** Messages after a redirect: fixed sentences with numbers and known labels only. */
function noticeOf(c: UiContext, prompt: PromptView): string | undefined {
  const saved = Number(c.req.query("saved"));
  if (saved > 0) return `Saved version ${saved}.`;
  const moved = c.req.query("moved");
  const label = prompt.labels.find((l) => l.name === moved);
  if (label) {
    return c.req.query("rollback") === "1"
      ? `Rolled ${label.name} back: it now serves v${label.version}.`
      : `${label.name} now serves v${label.version}.`;
  }
  if (c.req.query("created") === "1") return "Prompt created.";
  return undefined;
}

export function registerPromptPages(ui: Hono<UiEnv>) {
  ui.get("/", signedIn(), async (c) => {
    const ctx = readContext(c);
    const project = projectOf(c);
    const filter = {
      q: c.req.query("q")?.trim() ?? "",
      tag: c.req.query("tag") ?? "",
      label: c.req.query("label") ?? "",
      archived: c.req.query("archived") === "true",
    };
    const [page, all] = await Promise.all([
      listPrompts(ctx, project, {
        q: filter.q || undefined,
        tag: filter.tag || undefined,
        label: filter.label || undefined,
        archived: filter.archived,
        limit: 200,
      }),
      listPrompts(ctx, project, { limit: 200, archived: filter.archived }),
    ]);
    const tags = [...new Set(all.items.flatMap((p) => p.tags))].sort();
    const labels = [...new Set(all.items.flatMap((p) => p.labels.map((l) => l.name)))].sort();
    const archivedName = c.req.query("archived-name");
    return render(
      c,
      <PromptList
        c={c}
        items={page.items}
        filter={filter}
        tags={tags}
        labels={labels}
        archivedName={
          archivedName && promptName.safeParse(archivedName).success ? archivedName : undefined
        }
      />,
    );
  });

  ui.get("/new-prompt", signedIn(), async (c) => {
    const type = typeOf(c.req.query("type"));
    const draft = { name: "", description: "", tags: "", version: draftFromVersion(type) };
    draft.version.commitMessage = "First version";
    return render(
      c,
      <NewPromptPage c={c} draft={draft} errors={{}} labelOptions={await labelOptions(c)} />,
    );
  });

  ui.post("/new-prompt", signedIn(), async (c) => {
    const body = await c.req.parseBody();
    const type = typeOf(c.req.query("type"));
    const field = (name: string) => (typeof body[name] === "string" ? (body[name] as string) : "");
    const draft: NewPromptDraft = {
      name: field("name").trim(),
      description: field("description").trim(),
      tags: field("tags"),
      version: draftFromForm(body, type),
    };
    const options = await labelOptions(c);
    const again = (errors: FieldErrors, status: 200 | 403 | 409 | 422 = 422) =>
      render(
        c,
        <NewPromptPage c={c} draft={draft} errors={errors} labelOptions={options} />,
        status,
      );
    if (applyIntent(draft.version, field("intent"))) return again({}, 200);

    const version = versionInputOf(draft.version);
    if (version.errors) return again(version.errors);
    try {
      await createPrompt(mutationContext(c), projectOf(c), {
        name: draft.name,
        description: draft.description,
        tags: tagsOf(draft.tags),
        type,
        version: version.input,
      });
    } catch (error) {
      if (!(error instanceof ProblemError) || error.status >= 500) throw error;
      const errors = errorsOfProblem(error, type);
      // The name is what collides when a prompt already exists; say so next to it.
      if (error.code === "conflict" && errors.form) {
        errors.name = errors.form;
        delete errors.form;
      }
      if (error.code === "forbidden" && draft.version.label) {
        errors.label = error.message;
        delete errors.form;
      }
      return again(errors, error.status as 403 | 409 | 422);
    }
    return c.redirect(promptPath(draft.name, "?created=1"), 303);
  });

  ui.get("/prompts/:name", signedIn(), async (c) => {
    const row = await promptOfPage(c);
    const ctx = readContext(c);
    const prompt = await toPromptView(ctx, row);
    const [versions, history, project, trend, experiments] = await Promise.all([
      listVersions(ctx, row, { limit: 200 }),
      historyOf(c, prompt, row),
      getProject(ctx, row.projectId),
      loadPromptTrend(c, row),
      loadPromptExperiments(c, row),
    ]);
    return render(
      c,
      <PromptPage
        c={c}
        prompt={prompt}
        versions={versions.items}
        history={history}
        protectedLabels={project.protectedLabels}
        trend={trend}
        experiments={experiments}
        notice={noticeOf(c, prompt)}
      />,
    );
  });

  ui.get("/prompts/:name/archive", signedIn(), async (c) => {
    const prompt = await toPromptView(readContext(c), await promptOfPage(c));
    return render(c, <ArchivePage c={c} prompt={prompt} />);
  });

  ui.post("/prompts/:name/archive", signedIn(), async (c) => {
    const ctx = mutationContext(c);
    const row = await promptOfPage(c);
    await updatePrompt(ctx, row, { archived: true });
    return c.redirect(`/?archived-name=${encodeURIComponent(row.name)}`, 303);
  });
}
