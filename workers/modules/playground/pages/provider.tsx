import {
  MODEL_NAME_MAX,
  MODEL_PROVIDER_API_KEY_MAX,
  MODEL_PROVIDER_URL_MAX,
} from "@cuecard/core/limits";
import { ProblemError } from "@cuecard/core/problem";
import type { Hono } from "hono";
import {
  Breadcrumbs,
  CsrfField,
  describedBy,
  FieldError,
  FormError,
  Notice,
  Page,
  Time,
} from "../../../../admin/components/layout";
import { type FormBody, formText, problemFields } from "../../../../admin/components/settings";
import { render } from "../../../../admin/render";
import { projectOf, signedIn, type UiContext, type UiEnv } from "../../../../admin/session";
import { mutationContext, readContext } from "../../../platform/http/app";
import { capabilitiesOf } from "../../access/access";
import type { SettingsSection, SettingsSectionProps } from "../../projects/pages/settings";
import {
  deleteModelProvider,
  findModelProvider,
  hasModelProvider,
  type ModelProviderView,
  providerDepsOf,
  setModelProvider,
} from "../provider";

/** Where the settings live; the playground links here. */
export const PROVIDER_SETTINGS_PATH = "/settings/model-provider";

interface Draft {
  baseUrl: string;
  defaultModel: string;
}

function ProviderPage(props: {
  c: UiContext;
  provider: ModelProviderView | undefined;
  draft: Draft;
  errors: Record<string, string>;
  notice?: string;
}) {
  const { c, provider, draft, errors } = props;
  const keyHint = provider ? `A key is ${keyState(provider)}` : "No key is set";
  return (
    <Page title="Model provider" actor={c.get("actor")} csrfToken={c.get("csrfToken")}>
      <Breadcrumbs
        trail={[{ href: "/", text: "Prompts" }, { text: "Settings" }, { text: "Model provider" }]}
      />
      <div class="page-head">
        <div>
          <h1>Model provider</h1>
          <p class="lead">
            The OpenAI-compatible endpoint the playground runs prompt versions against, for project{" "}
            <strong>{c.get("actor").projectId}</strong>. Runs are recorded in the prompts' metrics.
          </p>
        </div>
      </div>
      {props.notice ? <Notice kind="ok">{props.notice}</Notice> : null}
      <FormError message={errors.form} />
      <form method="post" action={PROVIDER_SETTINGS_PATH} class="card" autocomplete="off">
        <CsrfField token={c.get("csrfToken")} />
        <div class="field">
          <label for="baseUrl">Base URL</label>
          <p class="hint" id="baseUrl-hint">
            Where the API's <code>/chat/completions</code> lives, e.g.{" "}
            <code>https://api.openai.com/v1</code>. A public https address: private, loopback and
            internal addresses are refused.
          </p>
          <input
            type="url"
            name="baseUrl"
            required
            maxlength={MODEL_PROVIDER_URL_MAX}
            value={draft.baseUrl}
            {...describedBy("baseUrl", errors.baseUrl, true)}
          />
          <FieldError id="baseUrl-error" message={errors.baseUrl} />
        </div>
        <div class="field">
          <label for="defaultModel">Default model</label>
          <p class="hint" id="defaultModel-hint">
            Used when a version's model config names no <code>model</code>.
          </p>
          <input
            type="text"
            name="defaultModel"
            required
            maxlength={MODEL_NAME_MAX}
            value={draft.defaultModel}
            {...describedBy("defaultModel", errors.defaultModel, true)}
          />
          <FieldError id="defaultModel-error" message={errors.defaultModel} />
        </div>
        <div class="field">
          <label for="apiKey">API key</label>
          <p class="hint" id="apiKey-hint">
            {keyHint}.{" "}
            {provider ? "Leave empty to keep it; type a new one to replace it." : "Required."}{" "}
            Stored encrypted; it is never shown again.
          </p>
          <input
            type="password"
            name="apiKey"
            maxlength={MODEL_PROVIDER_API_KEY_MAX}
            autocomplete="new-password"
            spellcheck={false}
            value=""
            {...describedBy("apiKey", errors.apiKey, true)}
          />
          <FieldError id="apiKey-error" message={errors.apiKey} />
        </div>
        <button type="submit" class="button-primary">
          Save provider
        </button>
      </form>
      {provider ? (
        <>
          <p class="muted small">
            Last changed by {provider.updatedBy}, <Time iso={provider.updatedAt} />.
          </p>
          <form method="post" action={`${PROVIDER_SETTINGS_PATH}/delete`}>
            <CsrfField token={c.get("csrfToken")} />
            <button type="submit" class="button-danger">
              Remove provider and key
            </button>
          </form>
        </>
      ) : null}
    </Page>
  );
}

/** What the settings page's section shows: admins see the settings, others whether one is set. */
type SectionData =
  | { kind: "admin"; provider: ModelProviderView | undefined }
  | { kind: "member"; configured: boolean };

function keyState(provider: ModelProviderView): string {
  return provider.apiKey.lastChars ? `set (ends in …${provider.apiKey.lastChars})` : "set";
}

function ModelProviderSection({ data }: SettingsSectionProps) {
  const state = data as SectionData;
  if (state.kind === "member") {
    return (
      <p>
        {state.configured
          ? "The playground runs prompt versions against this project's model provider."
          : "No model provider is set, so the playground cannot run yet."}{" "}
        Admins choose it.
      </p>
    );
  }
  const { provider } = state;
  return (
    <>
      <p>The OpenAI-compatible endpoint the playground runs prompt versions against.</p>
      {provider ? (
        <dl class="facts">
          <dt>Base URL</dt>
          <dd class="mono">{provider.baseUrl}</dd>
          <dt>Default model</dt>
          <dd class="mono">{provider.defaultModel}</dd>
          <dt>API key</dt>
          <dd>{keyState(provider)}</dd>
        </dl>
      ) : (
        <p class="muted">None yet.</p>
      )}
      <p>
        <a class="button button-secondary" href={PROVIDER_SETTINGS_PATH}>
          {provider ? "Change the model provider" : "Set up a model provider"}
        </a>
      </p>
    </>
  );
}

export const MODEL_PROVIDER_SECTION: SettingsSection = {
  id: "model-provider",
  title: "Model provider (playground)",
  Section: ModelProviderSection,
  load: async (c): Promise<SectionData> => {
    const ctx = readContext(c);
    return capabilitiesOf(c.get("actor")).manageProject
      ? { kind: "admin", provider: await findModelProvider(ctx, projectOf(c)) }
      : { kind: "member", configured: await hasModelProvider(ctx, projectOf(c)) };
  },
};

function draftOf(provider: ModelProviderView | undefined): Draft {
  return { baseUrl: provider?.baseUrl ?? "", defaultModel: provider?.defaultModel ?? "" };
}

export function registerProviderPages(ui: Hono<UiEnv>) {
  ui.get("/settings/model-provider", signedIn(), async (c) => {
    const provider = await findModelProvider(readContext(c), projectOf(c));
    const notice =
      c.req.query("saved") === "1"
        ? "Saved the model provider."
        : c.req.query("removed") === "1"
          ? "Removed the model provider and its key."
          : undefined;
    return render(
      c,
      <ProviderPage
        c={c}
        provider={provider}
        draft={draftOf(provider)}
        errors={{}}
        notice={notice}
      />,
    );
  });

  ui.post(PROVIDER_SETTINGS_PATH, signedIn(), async (c) => {
    const body = (await c.req.parseBody()) as FormBody;
    const draft = {
      baseUrl: formText(body, "baseUrl"),
      defaultModel: formText(body, "defaultModel"),
    };
    const apiKey = formText(body, "apiKey");
    try {
      await setModelProvider(
        mutationContext(c),
        projectOf(c),
        { ...draft, apiKey: apiKey === "" ? undefined : apiKey },
        providerDepsOf(c.env),
      );
      return c.redirect(`${PROVIDER_SETTINGS_PATH}?saved=1`, 303);
    } catch (error) {
      if (!(error instanceof ProblemError) || error.status >= 500 || error.status === 403)
        throw error;
      const provider = await findModelProvider(readContext(c), projectOf(c));
      // The typed key is never sent back into the page: it is typed again.
      return render(
        c,
        <ProviderPage c={c} provider={provider} draft={draft} errors={problemFields(error)} />,
        error.status as 422,
      );
    }
  });

  ui.post(`${PROVIDER_SETTINGS_PATH}/delete`, signedIn(), async (c) => {
    await deleteModelProvider(mutationContext(c), projectOf(c));
    return c.redirect(`${PROVIDER_SETTINGS_PATH}?removed=1`, 303);
  });
}
