import { KEY_NAME_MAX } from "@cuecard/core/limits";
import { ProblemError } from "@cuecard/core/problem";
import type { Role } from "@cuecard/core/roles";
import type { Hono } from "hono";
import {
  Breadcrumbs,
  CsrfField,
  describedBy,
  EllipsisLinkText,
  FieldError,
  FormError,
  Notice,
  Page,
  Time,
} from "../../../../admin/components/layout";
import {
  type FormBody,
  formText,
  problemFields,
  SecretOnce,
} from "../../../../admin/components/settings";
import { render } from "../../../../admin/render";
import { projectOf, signedIn, type UiContext, type UiEnv } from "../../../../admin/session";
import { mutationContext, readContext } from "../../../platform/http/app";
import { langfuseKeyPair } from "../../langfuse/keys";
import { getProject, updateProject } from "../../projects/projects";
import { assignableRoles, createKey, type KeyView, listKeys, revokeKey } from "../keys";

const ROLE_HINTS: Record<Role, string> = {
  reader: "reads prompts at the edge (applications)",
  editor: "writes versions, moves unprotected labels",
  publisher: "also moves protected labels, rolls back, reads the audit log",
  admin: "also manages keys, webhooks and the project",
};

interface KeyDraft {
  name: string;
  role: string;
  expires: string;
  sendTelemetry: boolean;
  browser: boolean;
  /** The key's own origins, one per line; empty: the project's. */
  origins: string;
}

type KeyErrors = Partial<
  Record<"name" | "role" | "expires" | "browser" | "allowedOrigins" | "form", string>
>;

/** A textarea of origins, one per line (or separated by commas), as the API's list. */
function originsOf(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((origin) => origin.trim())
    .filter((origin) => origin !== "");
}

/** The project's allowed browser origins, editable where keys are made (admins only). */
function ProjectOriginsForm(props: { c: UiContext; origins: string; error?: string }) {
  const { c } = props;
  return (
    <form method="post" action="/keys/origins" class="card narrow" novalidate>
      <CsrfField token={c.get("csrfToken")} />
      <h2>Allowed browser origins</h2>
      <div class="field">
        <label for="projectOrigins">Pages that may call the edge with this project's keys</label>
        <p class="hint" id="projectOrigins-hint">
          One per line, as <code>https://app.example.com</code> or <code>http://localhost:*</code>{" "}
          (any port); no paths. Empty: no browser app may. The edge follows within about two
          minutes.
        </p>
        <textarea
          name="projectOrigins"
          rows={3}
          {...describedBy("projectOrigins", props.error, true)}
        >
          {props.origins}
        </textarea>
        <FieldError id="projectOrigins-error" message={props.error} />
      </div>
      <div class="form-actions">
        <button type="submit" class="button-secondary">
          Save origins
        </button>
      </div>
    </form>
  );
}

function keyStatus(key: KeyView, now = Date.now()): { text: string; kind: string } {
  if (key.revokedAt) return { text: "revoked", kind: "revoked" };
  if (key.expiresAt && Date.parse(key.expiresAt) <= now)
    return { text: "expired", kind: "revoked" };
  return { text: "active", kind: "active" };
}

function KeysPage(props: {
  c: UiContext;
  keys: KeyView[];
  origins: string;
  originsError?: string;
  notice?: string;
}) {
  const { c } = props;
  const self = c.get("actor").id;
  return (
    <Page title="API keys" actor={c.get("actor")} csrfToken={c.get("csrfToken")}>
      <div class="page-head">
        <div>
          <h1>API keys</h1>
          <p class="lead">
            Keys of project <strong>{c.get("actor").projectId}</strong>. Secrets are never stored or
            shown again after creation; the prefix helps recognise a key.
          </p>
        </div>
        <div class="actions">
          <a class="button button-primary" href="/keys/new">
            New key
          </a>
        </div>
      </div>
      {props.notice ? <Notice kind="ok">{props.notice}</Notice> : null}
      {props.keys.length === 0 ? (
        <div class="empty">
          <p>No keys yet.</p>
        </div>
      ) : (
        <table class="table keys-table">
          <caption class="visually-hidden">API keys of project {c.get("actor").projectId}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Prefix</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">Telemetry</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {props.keys.map((key) => {
              const status = keyStatus(key);
              return (
                <tr class={status.kind === "revoked" ? "row-inactive" : undefined}>
                  <th scope="row">
                    {key.name}
                    {key.id === self ? <span class="muted small"> (your session)</span> : null}
                    {key.browser ? <div class="muted small">browser key</div> : null}
                    {key.allowedOrigins ? (
                      <div class="muted small">only {key.allowedOrigins.join(", ")}</div>
                    ) : null}
                  </th>
                  <td>
                    <span class={`role-pill role-pill-${key.role}`}>{key.role}</span>
                  </td>
                  <td>
                    <code>{key.prefix}…</code>
                  </td>
                  <td>
                    <Time iso={key.createdAt} />
                    <div class="muted small">by {key.createdBy}</div>
                  </td>
                  <td>{key.lastUsedAt ? <Time iso={key.lastUsedAt} /> : <Never />}</td>
                  <td>{key.expiresAt ? <Time iso={key.expiresAt} /> : <Never />}</td>
                  <td>
                    {key.sendTelemetry ? (
                      key.browser ? (
                        "scores only"
                      ) : (
                        "may send"
                      )
                    ) : (
                      <span class="muted">reads only</span>
                    )}
                  </td>
                  <td>
                    <span class={`status status-${status.kind}`}>{status.text}</span>
                    {key.revokedAt ? (
                      <div class="muted small">
                        <Time iso={key.revokedAt} />
                      </div>
                    ) : null}
                  </td>
                  <td class="row-actions">
                    {key.revokedAt ? null : (
                      <a href={`/keys/${encodeURIComponent(key.id)}/revoke`}>
                        <EllipsisLinkText visible="Revoke" hidden={` ${key.name}`} />
                      </a>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <ProjectOriginsForm c={c} origins={props.origins} error={props.originsError} />
    </Page>
  );
}

function Never() {
  return <span class="muted">never</span>;
}

function NewKeyPage(props: {
  c: UiContext;
  roles: readonly Role[];
  draft: KeyDraft;
  errors: KeyErrors;
}) {
  const { c, draft, errors } = props;
  return (
    <Page title="New API key" actor={c.get("actor")} csrfToken={c.get("csrfToken")}>
      <Breadcrumbs trail={[{ href: "/keys", text: "API keys" }, { text: "New key" }]} />
      <h1>New API key</h1>
      <form method="post" action="/keys/new" class="card narrow" novalidate>
        <CsrfField token={c.get("csrfToken")} />
        <FormError message={errors.form} />
        <div class="field">
          <label for="name">Name</label>
          <p class="hint" id="name-hint">
            Who or what uses it, e.g. “checkout service” or “Ada (publisher)”.
          </p>
          <input
            type="text"
            name="name"
            value={draft.name}
            maxlength={KEY_NAME_MAX}
            required
            autocomplete="off"
            {...describedBy("name", errors.name, true)}
          />
          <FieldError id="name-error" message={errors.name} />
        </div>
        <div class="field">
          <label for="role">Role</label>
          <select name="role" {...describedBy("role", errors.role)}>
            {props.roles.map((role) => (
              <option value={role} selected={role === draft.role}>
                {role} — {ROLE_HINTS[role]}
              </option>
            ))}
          </select>
          <FieldError id="role-error" message={errors.role} />
        </div>
        <div class="field">
          <label for="expires">Expires on (optional)</label>
          <p class="hint" id="expires-hint">
            The key stops working at the end of this day (UTC). Leave empty for no expiry.
          </p>
          <input
            type="date"
            name="expires"
            value={draft.expires}
            {...describedBy("expires", errors.expires, true)}
          />
          <FieldError id="expires-error" message={errors.expires} />
        </div>
        <div class="field checkbox">
          <input
            type="checkbox"
            id="sendTelemetry"
            name="sendTelemetry"
            value="true"
            checked={draft.sendTelemetry}
            aria-describedby="sendTelemetry-hint"
          />
          <label for="sendTelemetry">May send telemetry</label>
        </div>
        <p class="hint" id="sendTelemetry-hint">
          Events, scores and traces sent to the edge with this key (a browser key: scores only).
          Untick it so nobody holding the key can poison metrics or experiment results; the key
          still reads prompts.
        </p>
        <div class="field checkbox">
          <input
            type="checkbox"
            name="browser"
            value="true"
            checked={draft.browser}
            {...describedBy("browser", errors.browser, true)}
          />
          <label for="browser">For a browser app (a public key)</label>
        </div>
        <p class="hint" id="browser-hint">
          Anyone can read a key from a web page: a browser key must be a reader, works only at the
          edge, only from the project's allowed origins, and never sends events or traces.
        </p>
        <FieldError id="browser-error" message={errors.browser} />
        <div class="field">
          <label for="origins">Only these origins (optional)</label>
          <p class="hint" id="origins-hint">
            Narrows the project's allowed origins for this key, one per line. Empty: the project's.
          </p>
          <textarea
            name="origins"
            rows={2}
            {...describedBy("origins", errors.allowedOrigins, true)}
          >
            {draft.origins}
          </textarea>
          <FieldError id="origins-error" message={errors.allowedOrigins} />
        </div>
        <div class="form-actions">
          <button type="submit" class="button-primary">
            Create key
          </button>
          <a href="/keys" class="quiet-link">
            Cancel
          </a>
        </div>
      </form>
    </Page>
  );
}

function CreatedKeyPage(props: { c: UiContext; apiKey: KeyView; secret: string }) {
  const { c, apiKey: key } = props;
  const langfuse = langfuseKeyPair(key, props.secret, c.env.EDGE_URL);
  return (
    <Page title="Key created" actor={c.get("actor")} csrfToken={c.get("csrfToken")}>
      <Breadcrumbs trail={[{ href: "/keys", text: "API keys" }, { text: key.name }]} />
      <h1>Key “{key.name}” created</h1>
      <p class="lead">
        Role <span class={`role-pill role-pill-${key.role}`}>{key.role}</span>
        {key.expiresAt ? (
          <>
            , expires <Time iso={key.expiresAt} />
          </>
        ) : (
          ", no expiry"
        )}
        {key.sendTelemetry
          ? key.browser
            ? ", may send scores"
            : ", may send telemetry"
          : ", reads only (may not send telemetry)"}
        {key.browser ? ", for browsers (public: ship it in your app)" : ""}.
      </p>
      <SecretOnce label="Secret API key" secret={props.secret}>
        <p>
          Cuecard keeps only a hash of it, so nobody can look it up later: if it is lost, create a
          new key and revoke this one. Send it as <code>Authorization: Bearer …</code> and keep it
          in a secret manager.
        </p>
      </SecretOnce>
      {langfuse ? (
        <section aria-labelledby="langfuse-pair">
          <h2 id="langfuse-pair">Using the Langfuse SDKs</h2>
          <p>
            The same key works with the official Langfuse SDKs: point them at the edge and give them
            this pair. The secret key is the key above.
          </p>
          <dl>
            <dt>Base URL</dt>
            <dd>
              <code>{langfuse.baseUrl}</code>
            </dd>
            <dt>Public key</dt>
            <dd>
              <code>{langfuse.publicKey}</code>
            </dd>
            <dt>Secret key</dt>
            <dd>the secret API key above</dd>
          </dl>
        </section>
      ) : null}
      <p>
        <a class="button button-secondary" href="/keys">
          Done: back to keys
        </a>
      </p>
    </Page>
  );
}

function RevokePage(props: { c: UiContext; apiKey: KeyView }) {
  const { c, apiKey: key } = props;
  const own = key.id === c.get("actor").id;
  return (
    <Page title={`Revoke ${key.name}`} actor={c.get("actor")} csrfToken={c.get("csrfToken")}>
      <Breadcrumbs trail={[{ href: "/keys", text: "API keys" }, { text: "Revoke" }]} />
      <h1>Revoke “{key.name}”?</h1>
      <div class="card confirm">
        <p>
          The {key.role} key <code>{key.prefix}…</code> stops working on the admin API at once, and
          at the edge within about two minutes. Whoever uses it needs a new key. This cannot be
          undone.
        </p>
        {own ? (
          <Notice>This is the key you signed in with: revoking it ends your session.</Notice>
        ) : null}
        <form method="post" action={`/keys/${encodeURIComponent(key.id)}/revoke`}>
          <CsrfField token={c.get("csrfToken")} />
          <div class="form-actions">
            <button type="submit" class="button-danger">
              Revoke {key.name}
            </button>
            <a href="/keys" class="quiet-link">
              Cancel
            </a>
          </div>
        </form>
      </div>
    </Page>
  );
}

/**
 * The date field as the API's `expiresAt`: the end of that day, UTC. Whether it is a date, and
 * in the future, is the verb's to say.
 */
function expiryOf(date: string): string | undefined {
  return date === "" ? undefined : `${date}T23:59:59.999Z`;
}

async function keyOfPage(c: UiContext): Promise<KeyView> {
  const id = c.req.param("keyId") ?? "";
  const key = (await listKeys(readContext(c), projectOf(c))).find((k) => k.id === id);
  if (!key) throw new ProblemError("not_found", `Key '${id}' does not exist in this project.`);
  return key;
}

export function registerKeyPages(ui: Hono<UiEnv>) {
  ui.get("/keys", signedIn(), async (c) => {
    const keys = await listKeys(readContext(c), projectOf(c));
    const project = await getProject(readContext(c), projectOf(c));
    const revoked = c.req.query("revoked");
    const notice = revoked
      ? `Revoked ${revoked}.`
      : c.req.query("origins") === "saved"
        ? "Saved the allowed origins."
        : undefined;
    return render(
      c,
      <KeysPage c={c} keys={keys} origins={project.allowedOrigins.join("\n")} notice={notice} />,
    );
  });

  ui.post("/keys/origins", signedIn(), async (c) => {
    const body = (await c.req.parseBody()) as FormBody;
    const text = formText(body, "projectOrigins");
    try {
      await updateProject(mutationContext(c), projectOf(c), { allowedOrigins: originsOf(text) });
      return c.redirect("/keys?origins=saved", 303);
    } catch (error) {
      if (!(error instanceof ProblemError) || error.status !== 422) throw error;
      const errors = problemFields(error);
      const keys = await listKeys(readContext(c), projectOf(c));
      return render(
        c,
        <KeysPage
          c={c}
          keys={keys}
          origins={text}
          originsError={errors.allowedOrigins ?? errors.form}
        />,
        422,
      );
    }
  });

  ui.get("/keys/new", signedIn(), (c) => {
    const roles = assignableRoles(readContext(c), projectOf(c));
    return render(
      c,
      <NewKeyPage
        c={c}
        roles={roles}
        draft={{
          name: "",
          role: "editor",
          expires: "",
          sendTelemetry: true,
          browser: false,
          origins: "",
        }}
        errors={{}}
      />,
    );
  });

  ui.post("/keys/new", signedIn(), async (c) => {
    const body = (await c.req.parseBody()) as FormBody;
    const draft: KeyDraft = {
      name: formText(body, "name").trim(),
      role: formText(body, "role"),
      expires: formText(body, "expires").trim(),
      // An unticked checkbox is not sent at all.
      sendTelemetry: formText(body, "sendTelemetry") === "true",
      browser: formText(body, "browser") === "true",
      origins: formText(body, "origins"),
    };
    const origins = originsOf(draft.origins);
    try {
      const { key, secret } = await createKey(mutationContext(c), projectOf(c), {
        name: draft.name,
        role: draft.role,
        expiresAt: expiryOf(draft.expires),
        sendTelemetry: draft.sendTelemetry,
        browser: draft.browser,
        allowedOrigins: origins.length === 0 ? null : origins,
      });
      // The secret exists only in this response: no redirect, and no cache may keep it.
      return render(c, <CreatedKeyPage c={c} apiKey={key} secret={secret} />, 201);
    } catch (error) {
      // A refusal of the role itself is the forbidden page, as for any action it cannot take.
      if (!(error instanceof ProblemError) || error.status >= 500 || error.status === 403) {
        throw error;
      }
      const { expiresAt, ...errors }: KeyErrors & { expiresAt?: string } = problemFields(error);
      if (expiresAt) errors.expires = `This date ${expiresAt}.`;
      return render(
        c,
        <NewKeyPage
          c={c}
          roles={assignableRoles(readContext(c), projectOf(c))}
          draft={draft}
          errors={errors}
        />,
        error.status as 409 | 422,
      );
    }
  });

  ui.get("/keys/:keyId/revoke", signedIn(), async (c) => {
    return render(c, <RevokePage c={c} apiKey={await keyOfPage(c)} />);
  });

  ui.post("/keys/:keyId/revoke", signedIn(), async (c) => {
    const key = await keyOfPage(c);
    await revokeKey(mutationContext(c), projectOf(c), key.id);
    if (key.id === c.get("actor").id) return c.redirect("/sign-in", 303);
    return c.redirect(`/keys?revoked=${encodeURIComponent(key.name)}`, 303);
  });
}
