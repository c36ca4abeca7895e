import { MODEL_NAME_MAX, PLAYGROUND_VALUE_MAX } from "@cuecard/core/limits";
import { ProblemError } from "@cuecard/core/problem";
import type { Hono } from "hono";
import {
  Breadcrumbs,
  CsrfField,
  FormError,
  Notice,
  Page,
  promptPath,
} from "../../../../admin/components/layout";
import { type FormBody, formText } from "../../../../admin/components/settings";
import { render } from "../../../../admin/render";
import { projectOf, signedIn, type UiContext, type UiEnv } from "../../../../admin/session";
import { readContext } from "../../../platform/http/app";
import { capabilitiesOf } from "../../access/access";
import { promptOfPage } from "../../prompts/pages/prompts";
import { previewValue } from "../../prompts/pages/versions";
import type { PromptRow } from "../../prompts/prompts";
import { getVersion, listVersions, type VersionView } from "../../prompts/versions";
import { hasModelProvider, providerDepsOf } from "../provider";
import { type RunDeps, type RunEvent, runVersion } from "../run";
import { PROVIDER_SETTINGS_PATH } from "./provider";

/**
 * The playground of a prompt version: fill its variables, run it against the project's model
 * provider, and compare with another version's answer side by side. With the script, answers
 * stream in (…/playground/stream, server-sent events); without it, the form posts and the page
 * comes back with both answers complete.
 */

const playgroundPath = (name: string, version: number, rest = "") =>
  promptPath(name, `/versions/${version}/playground${rest}`);

/** One finished (or failed) run, as the page without the script shows it. */
interface RunResult {
  version: number;
  model: string;
  answer: string;
  done?: Extract<RunEvent, { type: "done" }>;
  error?: string;
}

interface Draft {
  values: Record<string, string>;
  model: string;
  compare: number | null;
}

function runDepsOf(c: UiContext): RunDeps {
  // Typed as always bound (wrangler.toml declares it); a deployment may remove the block.
  const bindings = c.env as Partial<Pick<AdminEnv, "TELEMETRY">>;
  return {
    ...providerDepsOf(c.env),
    telemetry: bindings.TELEMETRY,
    waitUntil: (promise) => c.executionCtx.waitUntil(promise),
  };
}

/** The typed values, read as the version page's preview reads them; empty leaves one out. */
function runFieldsOf(body: FormBody) {
  const values: Record<string, unknown> = {};
  for (const [field, raw] of Object.entries(body)) {
    if (!field.startsWith("var.") || typeof raw !== "string" || raw === "") continue;
    values[field.slice(4)] = previewValue(raw);
  }
  const model = formText(body, "model").trim();
  return { values, model: model === "" ? undefined : model };
}

function draftOf(body: FormBody | undefined, query: (name: string) => string | undefined): Draft {
  const values: Record<string, string> = {};
  for (const [field, raw] of Object.entries(body ?? {})) {
    if (field.startsWith("var.") && typeof raw === "string") values[field.slice(4)] = raw;
  }
  const compare = Number(body ? formText(body, "compare") : query("compare"));
  return {
    values,
    model: body ? formText(body, "model") : "",
    compare: Number.isInteger(compare) && compare >= 1 ? compare : null,
  };
}

function RunPanel(props: { version: number | null; result?: RunResult; primary: boolean }) {
  const { version, result } = props;
  const state = result ? (result.error ? "failed" : "done") : "idle";
  return (
    <section
      class="run-panel"
      data-run-panel={props.primary ? "primary" : "compare"}
      data-version={version ?? ""}
      data-state={state}
      hidden={version === null}
      aria-label={version === null ? "Comparison" : `Answer of v${version}`}
    >
      <h2 class="run-heading">
        <span data-run-title>{version === null ? "" : `v${version}`}</span>{" "}
        <span class="muted small mono" data-run-model>
          {result?.done?.model ?? result?.model ?? ""}
        </span>
      </h2>
      <p class="muted small" data-run-status aria-live="polite">
        {result?.done ? runSummary(result.done) : result?.error ? "Failed." : "Not run yet."}
      </p>
      <div class="notice notice-error" role="alert" data-run-error hidden={!result?.error}>
        {result?.error ?? ""}
      </div>
      <pre class="code run-answer" data-run-answer aria-live="polite">
        {result?.answer ?? ""}
      </pre>
    </section>
  );
}

/** What a finished run took, in one line (the script writes the same line). */
function runSummary(done: Extract<RunEvent, { type: "done" }>): string {
  const tokens =
    done.inputTokens !== null && done.outputTokens !== null
      ? `, ${done.inputTokens} → ${done.outputTokens} tokens`
      : "";
  return `Done in ${done.latencyMs} ms${tokens}.`;
}

function PlaygroundPage(props: {
  c: UiContext;
  prompt: PromptRow;
  version: VersionView;
  versions: number[];
  configured: boolean;
  draft: Draft;
  results?: RunResult[];
  error?: string;
}) {
  const { c, prompt, version, draft } = props;
  const can = capabilitiesOf(c.get("actor"));
  const configModel = typeof version.config.model === "string" ? version.config.model : undefined;
  const [primary, compared] = props.results ?? [];
  return (
    <Page
      title={`Playground · ${prompt.name} v${version.version}`}
      actor={c.get("actor")}
      csrfToken={c.get("csrfToken")}
    >
      <Breadcrumbs
        trail={[
          { href: "/", text: "Prompts" },
          { href: promptPath(prompt.name), text: prompt.name },
          {
            href: promptPath(prompt.name, `/versions/${version.version}`),
            text: `v${version.version}`,
          },
          { text: "Playground" },
        ]}
      />
      <div class="page-head">
        <div>
          <h1>
            Playground{" "}
            <span class="muted">
              {prompt.name} v{version.version}
            </span>
          </h1>
          <p class="lead">
            Run this version against the project's model provider before promoting it. Every run is
            recorded in the prompt's metrics as a call of its version.
          </p>
        </div>
        <div class="actions">
          <a class="button button-secondary" href={PROVIDER_SETTINGS_PATH}>
            Model provider settings
          </a>
        </div>
      </div>
      {props.configured ? null : (
        <Notice>
          This project has no model provider yet.{" "}
          {can.manageProject ? (
            <a href={PROVIDER_SETTINGS_PATH}>Set one up</a>
          ) : (
            "Ask an admin to set one up in Settings → Model provider."
          )}
        </Notice>
      )}
      <FormError message={props.error} />
      <form
        method="post"
        action={playgroundPath(prompt.name, version.version)}
        class="card"
        data-playground
        data-stream-base={promptPath(prompt.name, "/versions/")}
      >
        <CsrfField token={c.get("csrfToken")} />
        {version.variables.length === 0 ? (
          <p class="muted">This version has no variables.</p>
        ) : null}
        {version.variables.map((variable) => (
          <div class="field">
            <label for={`var-${variable.name}`}>
              <code>{variable.name}</code>
              {variable.required ? null : <span class="muted small"> optional</span>}
            </label>
            <textarea
              id={`var-${variable.name}`}
              name={`var.${variable.name}`}
              rows={2}
              maxlength={PLAYGROUND_VALUE_MAX}
            >
              {draft.values[variable.name] ?? ""}
            </textarea>
          </div>
        ))}
        <div class="field">
          <label for="model">Model</label>
          <p class="hint" id="model-hint">
            Leave empty for{" "}
            {configModel ? (
              <>
                the version's <code>{configModel}</code>
              </>
            ) : (
              "the provider's default model"
            )}
            .
          </p>
          <input
            type="text"
            id="model"
            name="model"
            maxlength={MODEL_NAME_MAX}
            value={draft.model}
            aria-describedby="model-hint"
          />
        </div>
        <div class="field">
          <label for="compare">Compare with</label>
          <select id="compare" name="compare">
            <option value="">No other version</option>
            {props.versions
              .filter((v) => v !== version.version)
              .map((v) => (
                <option value={String(v)} selected={draft.compare === v}>
                  v{v}
                </option>
              ))}
          </select>
        </div>
        <button type="submit" class="button-primary" data-run-button>
          Run
        </button>
      </form>
      <div class="compare-columns run-panels">
        <RunPanel version={version.version} result={primary} primary />
        <RunPanel version={draft.compare} result={compared} primary={false} />
      </div>
    </Page>
  );
}

/** Runs one version to the end, for the page without the script. */
async function runToEnd(
  c: UiContext,
  prompt: PromptRow,
  version: number,
  body: FormBody,
): Promise<RunResult> {
  try {
    const run = await runVersion(readContext(c), prompt, version, runFieldsOf(body), runDepsOf(c));
    const result: RunResult = { version, model: run.model, answer: "" };
    for await (const event of run.events) {
      if (event.type === "delta") result.answer += event.text;
      if (event.type === "done") result.done = event;
      if (event.type === "error") result.error = event.message;
    }
    return result;
  } catch (error) {
    if (!(error instanceof ProblemError) || error.status >= 500 || error.status === 403)
      throw error;
    return { version, model: "", answer: "", error: error.message };
  }
}

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-store",
};

function sseEvent(event: RunEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

export function registerPlaygroundPages(ui: Hono<UiEnv>) {
  const path = "/prompts/:name/versions/:version{[0-9]+}/playground";

  async function page(c: UiContext, draft: Draft, results?: RunResult[], status = 200) {
    const prompt = await promptOfPage(c);
    const ctx = readContext(c);
    const [version, versions, configured] = await Promise.all([
      getVersion(ctx, prompt, Number(c.req.param("version"))),
      listVersions(ctx, prompt, { limit: 200 }),
      hasModelProvider(ctx, projectOf(c)),
    ]);
    return render(
      c,
      <PlaygroundPage
        c={c}
        prompt={prompt}
        version={version}
        versions={versions.items.map((v) => v.version)}
        configured={configured}
        draft={draft}
        results={results}
      />,
      status as 200,
    );
  }

  ui.get("/prompts/:name/versions/:version{[0-9]+}/playground", signedIn(), (c) =>
    page(
      c,
      draftOf(undefined, (name) => c.req.query(name)),
    ),
  );

  ui.post(path, signedIn(), async (c) => {
    const body = (await c.req.parseBody()) as FormBody;
    const prompt = await promptOfPage(c);
    const draft = draftOf(body, () => undefined);
    const versions = [Number(c.req.param("version")), ...(draft.compare ? [draft.compare] : [])];
    const results = await Promise.all(versions.map((v) => runToEnd(c, prompt, v, body)));
    return page(c, draft, results);
  });

  // The script's endpoint: one version's run as server-sent events (start, delta…, done or
  // error). A refusal before the call (render, no provider) is one error event with its status.
  ui.post(`${path}/stream`, signedIn(), async (c) => {
    const body = (await c.req.parseBody()) as FormBody;
    const prompt = await promptOfPage(c);
    const version = Number(c.req.param("version"));
    let run: Awaited<ReturnType<typeof runVersion>>;
    try {
      run = await runVersion(readContext(c), prompt, version, runFieldsOf(body), runDepsOf(c));
    } catch (error) {
      if (!(error instanceof ProblemError) || error.status >= 500) throw error;
      const refusal: RunEvent = { type: "error", message: error.message, status: error.status };
      return c.body(sseEvent(refusal), error.status as 409, SSE_HEADERS);
    }
    const events = run.events;
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await events.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(sseEvent(next.value)));
      },
      // The person left or started another run: stop reading the provider (the observed client
      // records the call as ended early).
      async cancel() {
        await events.return(undefined);
      },
    });
    return c.body(stream, 200, SSE_HEADERS);
  });
}
