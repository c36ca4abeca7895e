import {
  WEBHOOK_AUTH_TOKEN_MAX,
  WEBHOOK_DESCRIPTION_MAX,
  WEBHOOK_URL_MAX,
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
import {
  type FormBody,
  formText,
  formValues,
  problemFields,
  SecretOnce,
} from "../../../../admin/components/settings";
import { render } from "../../../../admin/render";
import { projectOf, signedIn, type UiContext, type UiEnv } from "../../../../admin/session";
import { mutationContext, readContext } from "../../../platform/http/app";
import {
  createEndpoint,
  DEFAULT_ROTATION_OVERLAP_HOURS,
  type DeliveryView,
  deleteEndpoint,
  ENDPOINT_KINDS,
  type EndpointKind,
  type EndpointView,
  getDelivery,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  newEndpointDefaults,
  redeliver,
  rotateSecret,
  sendTestEvent,
  updateEndpoint,
} from "../endpoints";
import { WEBHOOK_EVENT_TYPES } from "../events";

const KIND_TEXT: Record<EndpointKind, string> = {
  standard: "Standard (signed JSON POST)",
  github_dispatch: "GitHub repository_dispatch",
};
const OVERLAP_CHOICES = [0, 1, 24, 72, 168];
const DELIVERY_PAGE_SIZE = 25;

interface EndpointDraft {
  url: string;
  kind: string;
  description: string;
  eventTypes: string[];
  active: boolean;
  authToken: string;
}

type Errors = Record<string, string>;

const webhookPath = (id: string, rest = "") => `/webhooks/${encodeURIComponent(id)}${rest}`;

/** The SSRF guard's only setting, from the deployment's vars (as the API reads it). */
function urlGuard(c: UiContext) {
  return { allowLoopback: c.env.WEBHOOK_ALLOW_LOOPBACK === "true" };
}

function EventsSummary({ types }: { types: string[] }) {
  if (types.length === 0) return <span class="muted">all events</span>;
  return (
    <ul class="chips">
      {types.map((t) => (
        <li class="chip">{t}</li>
      ))}
    </ul>
  );
}

function ActiveState({ endpoint }: { endpoint: EndpointView }) {
  return endpoint.active ? (
    <span class="status status-active">active</span>
  ) : (
    <>
      <span class="status status-revoked">disabled</span>
      {endpoint.disabledReason ? <div class="muted small">{endpoint.disabledReason}</div> : null}
    </>
  );
}

function WebhooksPage(props: { c: UiContext; endpoints: EndpointView[]; notice?: string }) {
  const { c } = props;
  return (
    <Page title="Webhooks" actor={c.get("actor")} csrfToken={c.get("csrfToken")}>
      <div class="page-head">
        <div>
          <h1>Webhooks</h1>
          <p class="lead">
            Endpoints that get a signed POST when prompts change in project{" "}
            <strong>{c.get("actor").projectId}</strong>.
          </p>
        </div>
        <div class="actions">
          <a class="button button-primary" href="/webhooks/new">
            New webhook
          </a>
        </div>
      </div>
      {props.notice ? <Notice kind="ok">{props.notice}</Notice> : null}
      {props.endpoints.length === 0 ? (
        <div class="empty">
          <p>
            No webhooks yet. <a href="/webhooks/new">Add the first endpoint</a>.
          </p>
        </div>
      ) : (
        <table class="table webhooks-table">
          <caption class="visually-hidden">Webhooks of project {c.get("actor").projectId}</caption>
          <thead>
            <tr>
              <th scope="col">Endpoint</th>
              <th scope="col">Events</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {props.endpoints.map((endpoint) => (
              <tr>
                <td>
                  <a href={webhookPath(endpoint.id)} class="mono endpoint-url">
                    {endpoint.url}
                  </a>
                  {endpoint.kind !== "standard" ? <span class="type">{endpoint.kind}</span> : null}
                  {endpoint.description ? <p class="muted small">{endpoint.description}</p> : null}
                </td>
                <td>
                  <EventsSummary types={endpoint.eventTypes} />
                </td>
                <td>
                  <ActiveState endpoint={endpoint} />
                </td>
                <td>
                  <Time iso={endpoint.createdAt} />
                  <div class="muted small">by {endpoint.createdBy}</div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}

function EventTypeFields(props: { selected: string[]; error?: string }) {
  return (
    <fieldset class="messages event-types" aria-describedby="eventTypes-hint">
      <legend>Event types</legend>
      <p class="hint" id="eventTypes-hint">
        Tick none to receive every event type, including ones added later.
      </p>
      <div class="checkbox-grid">
        {WEBHOOK_EVENT_TYPES.map((type) => (
          <div class="field checkbox">
            <input
              type="checkbox"
              id={`event-${type}`}
              name="eventTypes"
              value={type}
              checked={props.selected.includes(type)}
            />
            <label for={`event-${type}`}>
              <code>{type}</code>
            </label>
          </div>
        ))}
      </div>
      <FieldError id="eventTypes-error" message={props.error} />
    </fieldset>
  );
}

/**
 * An endpoint's settings, for the new-webhook form and (`editing`: the endpoint's kind) the edit
 * form, where the kind is fixed, a token is only replaced, and the endpoint can be switched off.
 */
function EndpointFields(props: { draft: EndpointDraft; errors: Errors; editing?: EndpointKind }) {
  const { draft, errors, editing } = props;
  return (
    <>
      <div class="field">
        <label for="url">URL</label>
        {editing ? null : (
          <p class="hint" id="url-hint">
            A public https address. Private, loopback, link-local and internal addresses are
            refused.
          </p>
        )}
        <input
          type="url"
          name="url"
          value={draft.url}
          required
          maxlength={WEBHOOK_URL_MAX}
          placeholder={editing ? undefined : "https://ci.example.com/hooks/cuecard"}
          autocomplete="off"
          spellcheck={false}
          {...describedBy("url", errors.url, !editing)}
        />
        <FieldError id="url-error" message={errors.url} />
      </div>
      {editing ? null : (
        <div class="field">
          <label for="kind">Kind</label>
          <select name="kind" {...describedBy("kind", errors.kind)}>
            {ENDPOINT_KINDS.map((kind) => (
              <option value={kind} selected={kind === draft.kind}>
                {KIND_TEXT[kind]}
              </option>
            ))}
          </select>
          <FieldError id="kind-error" message={errors.kind} />
        </div>
      )}
      {editing === undefined || editing === "github_dispatch" ? (
        <div class="field">
          <label for="authToken">
            {editing ? "New GitHub token (optional)" : "GitHub token (GitHub dispatch only)"}
          </label>
          <p class="hint" id="authToken-hint">
            {editing
              ? "Leave empty to keep the stored token."
              : "A token allowed to dispatch to the repository. Stored, never shown again."}
          </p>
          <input
            type="password"
            name="authToken"
            value=""
            autocomplete="off"
            maxlength={WEBHOOK_AUTH_TOKEN_MAX}
            {...describedBy("authToken", errors.authToken, true)}
          />
          <FieldError id="authToken-error" message={errors.authToken} />
        </div>
      ) : null}
      <div class="field">
        <label for="description">{editing ? "Description" : "Description (optional)"}</label>
        <input
          type="text"
          name="description"
          value={draft.description}
          maxlength={WEBHOOK_DESCRIPTION_MAX}
          {...describedBy("description", errors.description)}
        />
        <FieldError id="description-error" message={errors.description} />
      </div>
      <EventTypeFields selected={draft.eventTypes} error={errors.eventTypes} />
      {editing ? (
        <div class="field checkbox">
          <input type="checkbox" id="active" name="active" value="true" checked={draft.active} />
          <label for="active">Active: send deliveries to this endpoint</label>
        </div>
      ) : null}
    </>
  );
}

function NewWebhookPage(props: { c: UiContext; draft: EndpointDraft; errors: Errors }) {
  const { c, draft, errors } = props;
  return (
    <Page title="New webhook" actor={c.get("actor")} csrfToken={c.get("csrfToken")}>
      <Breadcrumbs trail={[{ href: "/webhooks", text: "Webhooks" }, { text: "New webhook" }]} />
      <h1>New webhook</h1>
      <form method="post" action="/webhooks/new" class="card narrow" novalidate>
        <CsrfField token={c.get("csrfToken")} />
        <FormError message={errors.form} />
        <EndpointFields draft={draft} errors={errors} />
        <div class="form-actions">
          <button type="submit" class="button-primary">
            Create webhook
          </button>
          <a href="/webhooks" class="quiet-link">
            Cancel
          </a>
        </div>
      </form>
    </Page>
  );
}

function SecretPage(props: {
  c: UiContext;
  endpoint: EndpointView;
  secret: string;
  rotated: boolean;
}) {
  const { c, endpoint } = props;
  return (
    <Page
      title={props.rotated ? "Signing secret rotated" : "Webhook created"}
      actor={c.get("actor")}
      csrfToken={c.get("csrfToken")}
    >
      <Breadcrumbs
        trail={[
          { href: "/webhooks", text: "Webhooks" },
          { href: webhookPath(endpoint.id), text: endpoint.url },
          { text: props.rotated ? "New secret" : "Created" },
        ]}
      />
      <h1>{props.rotated ? "New signing secret" : "Webhook created"}</h1>
      <p class="lead">
        <span class="mono">{endpoint.url}</span>
      </p>
      <SecretOnce label="Signing secret" secret={props.secret}>
        <p>
          Receivers verify the <code>webhook-signature</code> header with it (Standard Webhooks). If
          it is lost, rotate it.
        </p>
        {props.rotated ? (
          endpoint.previousSecretExpiresAt ? (
            <p>
              Until <Time iso={endpoint.previousSecretExpiresAt} /> every delivery is also signed
              with the previous secret, so receivers can switch without rejecting any.
            </p>
          ) : (
            <p>The previous secret stopped signing at once.</p>
          )
        ) : null}
      </SecretOnce>
      <p>
        <a class="button button-secondary" href={webhookPath(endpoint.id)}>
          Done: go to the webhook
        </a>
      </p>
    </Page>
  );
}

const STATUS_TEXT: Record<DeliveryView["status"], string> = {
  pending: "pending",
  retrying: "retrying",
  succeeded: "succeeded",
  failed: "failed",
};

function DeliveryLog(props: {
  c: UiContext;
  endpoint: EndpointView;
  deliveries: DeliveryView[];
  nextCursor: string | null;
  before?: string;
}) {
  const { c, endpoint } = props;
  return (
    <section aria-labelledby="deliveries-title">
      <div class="page-head section-head">
        <h2 id="deliveries-title">Deliveries</h2>
        <a class="button button-secondary" href={webhookPath(endpoint.id)}>
          Refresh
        </a>
      </div>
      {props.before ? (
        <p class="small">
          Showing deliveries before <Time iso={props.before} />.{" "}
          <a href={webhookPath(endpoint.id)}>Back to the newest</a>
        </p>
      ) : null}
      {props.deliveries.length === 0 ? (
        <div class="empty">
          <p>No deliveries yet. Send a test event to try the endpoint.</p>
        </div>
      ) : (
        <table class="table deliveries-table">
          <caption class="visually-hidden">Deliveries to {endpoint.url}, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col" class="numeric">
                Attempts
              </th>
              <th scope="col" class="numeric">
                Last code
              </th>
              <th scope="col" class="numeric">
                Latency
              </th>
              <th scope="col">Response / error</th>
              <th scope="col">Next retry</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {props.deliveries.map((d) => (
              <tr>
                <td>
                  <a href={webhookPath(endpoint.id, `/deliveries/${encodeURIComponent(d.id)}`)}>
                    <code>{d.eventType}</code>
                  </a>
                  <div class="muted small">
                    <Time iso={d.createdAt} />
                  </div>
                </td>
                <td>
                  <span class={`status status-${d.status}`}>{STATUS_TEXT[d.status]}</span>
                </td>
                <td class="numeric">{d.attempts}</td>
                <td class="numeric">{d.lastStatusCode ?? "—"}</td>
                <td class="numeric">{d.lastLatencyMs !== null ? `${d.lastLatencyMs} ms` : "—"}</td>
                <td class="excerpt">
                  {d.lastResponseExcerpt ? <code>{d.lastResponseExcerpt}</code> : null}
                  {d.lastError ? <div class="small delivery-error">{d.lastError}</div> : null}
                  {!d.lastResponseExcerpt && !d.lastError ? <span class="muted">—</span> : null}
                </td>
                <td>
                  {d.nextRetryAt ? <Time iso={d.nextRetryAt} /> : <span class="muted">—</span>}
                </td>
                <td class="row-actions">
                  {d.status === "failed" || d.status === "retrying" ? (
                    <form
                      method="post"
                      action={webhookPath(
                        endpoint.id,
                        `/deliveries/${encodeURIComponent(d.id)}/redeliver`,
                      )}
                    >
                      <CsrfField token={c.get("csrfToken")} />
                      <button
                        type="submit"
                        class="button-secondary"
                        disabled={!endpoint.active}
                        title={endpoint.active ? undefined : "Enable the webhook first"}
                      >
                        Redeliver
                      </button>
                    </form>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.nextCursor ? (
        <p class="pager">
          <a
            class="button button-secondary"
            href={webhookPath(endpoint.id, `?before=${encodeURIComponent(props.nextCursor)}`)}
            rel="next"
          >
            Older deliveries
          </a>
        </p>
      ) : null}
    </section>
  );
}

function EndpointPage(props: {
  c: UiContext;
  endpoint: EndpointView;
  draft: EndpointDraft;
  errors: Errors;
  deliveries: DeliveryView[];
  nextCursor: string | null;
  before?: string;
  notice?: string;
}) {
  const { c, endpoint, draft, errors } = props;
  return (
    <Page title={`Webhook ${endpoint.url}`} actor={c.get("actor")} csrfToken={c.get("csrfToken")}>
      <Breadcrumbs trail={[{ href: "/webhooks", text: "Webhooks" }, { text: endpoint.url }]} />
      <div class="page-head">
        <div>
          <h1 class="endpoint-title">
            <span class="mono">{endpoint.url}</span>
            {endpoint.kind !== "standard" ? <span class="type">{endpoint.kind}</span> : null}
          </h1>
          <p class="muted small">
            <code>{endpoint.id}</code> · created <Time iso={endpoint.createdAt} /> by{" "}
            {endpoint.createdBy} · <ActiveState endpoint={endpoint} />
          </p>
        </div>
        <div class="actions">
          <form method="post" action={webhookPath(endpoint.id, "/test")}>
            <CsrfField token={c.get("csrfToken")} />
            <button type="submit" class="button-primary" disabled={!endpoint.active}>
              Send test event
            </button>
          </form>
          <a class="button button-secondary" href={webhookPath(endpoint.id, "/rotate")}>
            Rotate secret…
          </a>
          <a class="button button-danger-quiet" href={webhookPath(endpoint.id, "/delete")}>
            Delete…
          </a>
        </div>
      </div>
      {props.notice ? <Notice kind="ok">{props.notice}</Notice> : null}
      {endpoint.previousSecretExpiresAt ? (
        <Notice>
          The previous signing secret also signs deliveries until{" "}
          <Time iso={endpoint.previousSecretExpiresAt} />.
        </Notice>
      ) : null}
      {!endpoint.active ? (
        <Notice>
          This webhook is disabled: nothing is sent, and nothing can be redelivered, until it is
          enabled again (tick “Active” under Settings).
        </Notice>
      ) : null}

      <DeliveryLog
        c={c}
        endpoint={endpoint}
        deliveries={props.deliveries}
        nextCursor={props.nextCursor}
        before={props.before}
      />

      <section aria-labelledby="settings-title">
        <h2 id="settings-title">Settings</h2>
        <form
          method="post"
          action={webhookPath(endpoint.id, "/edit")}
          class="card narrow"
          novalidate
        >
          <CsrfField token={c.get("csrfToken")} />
          <FormError message={errors.form} />
          <EndpointFields draft={draft} errors={errors} editing={endpoint.kind} />
          <div class="form-actions">
            <button type="submit" class="button-primary">
              Save changes
            </button>
          </div>
        </form>
      </section>
    </Page>
  );
}

function ConfirmPage(props: { c: UiContext; endpoint: EndpointView; kind: "rotate" | "delete" }) {
  const { c, endpoint } = props;
  const rotate = props.kind === "rotate";
  return (
    <Page
      title={rotate ? "Rotate signing secret" : "Delete webhook"}
      actor={c.get("actor")}
      csrfToken={c.get("csrfToken")}
    >
      <Breadcrumbs
        trail={[
          { href: "/webhooks", text: "Webhooks" },
          { href: webhookPath(endpoint.id), text: endpoint.url },
          { text: rotate ? "Rotate secret" : "Delete" },
        ]}
      />
      <h1>{rotate ? "Rotate the signing secret?" : "Delete this webhook?"}</h1>
      <div class="card confirm">
        <p class="mono">{endpoint.url}</p>
        {rotate ? (
          <p>
            A new secret is created and shown once. During the overlap window every delivery is
            signed with both the new and the previous secret, so the receiver can switch without
            rejecting deliveries.
          </p>
        ) : (
          <p>
            Nothing more is sent to this endpoint, and its delivery log is deleted. The audit log
            keeps the record. This cannot be undone.
          </p>
        )}
        <form method="post" action={webhookPath(endpoint.id, rotate ? "/rotate" : "/delete")}>
          <CsrfField token={c.get("csrfToken")} />
          {rotate ? (
            <div class="field">
              <label for="overlapHours">The previous secret keeps signing for</label>
              <select id="overlapHours" name="overlapHours">
                {OVERLAP_CHOICES.map((hours) => (
                  <option value={String(hours)} selected={hours === DEFAULT_ROTATION_OVERLAP_HOURS}>
                    {hours === 0
                      ? "no overlap (stop at once)"
                      : hours === 1
                        ? "1 hour"
                        : `${hours} hours`}
                  </option>
                ))}
              </select>
            </div>
          ) : null}
          <div class="form-actions">
            <button type="submit" class={rotate ? "button-primary" : "button-danger"}>
              {rotate ? "Rotate secret" : "Delete webhook"}
            </button>
            <a href={webhookPath(endpoint.id)} class="quiet-link">
              Cancel
            </a>
          </div>
        </form>
      </div>
    </Page>
  );
}

function DeliveryPage(props: {
  c: UiContext;
  endpoint: EndpointView;
  delivery: Awaited<ReturnType<typeof getDelivery>>;
}) {
  const { c, endpoint, delivery } = props;
  return (
    <Page title={`Delivery ${delivery.id}`} actor={c.get("actor")} csrfToken={c.get("csrfToken")}>
      <Breadcrumbs
        trail={[
          { href: "/webhooks", text: "Webhooks" },
          { href: webhookPath(endpoint.id), text: endpoint.url },
          { text: delivery.eventType },
        ]}
      />
      <div class="page-head">
        <div>
          <h1>
            <code>{delivery.eventType}</code>{" "}
            <span class={`status status-${delivery.status}`}>{delivery.status}</span>
          </h1>
          <p class="muted small">
            webhook-id <code>{delivery.id}</code> · event <code>{delivery.eventId}</code> · created{" "}
            <Time iso={delivery.createdAt} />
          </p>
        </div>
        {delivery.status === "failed" || delivery.status === "retrying" ? (
          <div class="actions">
            <form
              method="post"
              action={webhookPath(
                endpoint.id,
                `/deliveries/${encodeURIComponent(delivery.id)}/redeliver`,
              )}
            >
              <CsrfField token={c.get("csrfToken")} />
              <button type="submit" class="button-primary">
                Redeliver
              </button>
            </form>
          </div>
        ) : null}
      </div>
      <h2 id="attempts-title">Attempts</h2>
      {delivery.attemptLog.length === 0 ? (
        <div class="empty">
          <p>Not attempted yet.</p>
        </div>
      ) : (
        // Focusable: on a phone it scrolls sideways, and has no link to reach it by keyboard.
        <table class="table" tabindex={0} aria-labelledby="attempts-title">
          <thead>
            <tr>
              <th scope="col" class="numeric">
                #
              </th>
              <th scope="col">When</th>
              <th scope="col" class="numeric">
                Code
              </th>
              <th scope="col" class="numeric">
                Latency
              </th>
              <th scope="col">Response / error</th>
            </tr>
          </thead>
          <tbody>
            {delivery.attemptLog.map((a) => (
              <tr>
                <td class="numeric">{a.attempt}</td>
                <td>
                  <Time iso={a.createdAt} />
                </td>
                <td class="numeric">{a.statusCode ?? "—"}</td>
                <td class="numeric">{a.latencyMs !== null ? `${a.latencyMs} ms` : "—"}</td>
                <td class="excerpt">
                  {a.responseExcerpt ? <code>{a.responseExcerpt}</code> : null}
                  {a.error ? <div class="small delivery-error">{a.error}</div> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Payload sent</h2>
      <pre class="code">{JSON.stringify(delivery.payload, null, 2)}</pre>
    </Page>
  );
}

/** The form as typed; every rule (limits, kinds, SSRF, GitHub) is the verb's, checked there. */
function draftOf(body: FormBody, withActive: boolean): EndpointDraft {
  return {
    url: formText(body, "url").trim(),
    kind: formText(body, "kind") || "standard",
    description: formText(body, "description").trim(),
    eventTypes: formValues(body, "eventTypes"),
    active: withActive ? formText(body, "active") === "true" : true,
    authToken: formText(body, "authToken").trim(),
  };
}

function draftOfEndpoint(endpoint: EndpointView): EndpointDraft {
  return {
    url: endpoint.url,
    kind: endpoint.kind,
    description: endpoint.description,
    eventTypes: endpoint.eventTypes,
    active: endpoint.active,
    authToken: "",
  };
}

function endpointOfPage(c: UiContext): Promise<EndpointView> {
  return getEndpoint(readContext(c), projectOf(c), c.req.param("id") ?? "");
}

const NOTICES: Record<string, string> = {
  created: "Webhook created.",
  updated: "Changes saved.",
  tested: "Test event sent. Its delivery appears below within a few seconds: refresh to see it.",
  redelivered: "Delivery queued again: refresh to see the new attempt.",
};

async function renderEndpoint(
  c: UiContext,
  endpoint: EndpointView,
  form?: { draft: EndpointDraft; errors: Errors; status: 409 | 422 },
) {
  const raw = c.req.query("before");
  const before = raw && raw.length <= 40 ? raw : undefined;
  const page = await listDeliveries(readContext(c), projectOf(c), endpoint.id, {
    limit: DELIVERY_PAGE_SIZE,
    before,
  });
  const notice = Object.keys(NOTICES).find((key) => c.req.query(key) !== undefined);
  return render(
    c,
    <EndpointPage
      c={c}
      endpoint={endpoint}
      draft={form?.draft ?? draftOfEndpoint(endpoint)}
      errors={form?.errors ?? {}}
      deliveries={page.items}
      nextCursor={page.nextCursor}
      before={before}
      notice={notice ? NOTICES[notice] : undefined}
    />,
    form?.status ?? 200,
  );
}

/** A refusal to show next to the form's fields; the role's own refusal is the forbidden page. */
function asProblem(error: unknown): ProblemError {
  if (!(error instanceof ProblemError) || error.status >= 500 || error.status === 403) throw error;
  return error;
}

/** The domain's refusal next to its field, as a sentence: "This URL must use https." */
function endpointErrors(problem: ProblemError): Errors {
  const errors = problemFields(problem);
  if (errors.url) errors.url = `This URL ${errors.url}.`;
  if (errors.authToken) errors.authToken = `The GitHub token ${errors.authToken}.`;
  return errors;
}

export function registerWebhookPages(ui: Hono<UiEnv>) {
  // Webhook payloads link to `/projects/{project}/webhooks` and `/projects/{project}/prompts/{name}`
  // (see webhookPayloadOf); a session has one project, so those lead to the pages here.
  ui.get("/projects/:project/webhooks", signedIn(), (c) => {
    if (c.req.param("project") !== projectOf(c)) {
      throw new ProblemError("not_found", "That project is not the one you are signed in to.");
    }
    return c.redirect("/webhooks", 302);
  });
  ui.get("/projects/:project/prompts/:name", signedIn(), (c) => {
    if (c.req.param("project") !== projectOf(c)) {
      throw new ProblemError("not_found", "That project is not the one you are signed in to.");
    }
    return c.redirect(`/prompts/${encodeURIComponent(c.req.param("name"))}`, 302);
  });

  ui.get("/webhooks", signedIn(), async (c) => {
    const endpoints = await listEndpoints(readContext(c), projectOf(c));
    const deleted = c.req.query("deleted");
    return render(
      c,
      <WebhooksPage
        c={c}
        endpoints={endpoints}
        notice={deleted ? `Deleted the webhook to ${deleted}.` : undefined}
      />,
    );
  });

  ui.get("/webhooks/new", signedIn(), (c) => {
    const draft: EndpointDraft = {
      ...newEndpointDefaults(readContext(c), projectOf(c)),
      url: "",
      authToken: "",
    };
    return render(c, <NewWebhookPage c={c} draft={draft} errors={{}} />);
  });

  ui.post("/webhooks/new", signedIn(), async (c) => {
    const draft = draftOf((await c.req.parseBody({ all: true })) as FormBody, false);
    try {
      const { endpoint, secret } = await createEndpoint(
        mutationContext(c),
        projectOf(c),
        {
          url: draft.url,
          kind: draft.kind,
          description: draft.description,
          eventTypes: draft.eventTypes,
          authToken: draft.authToken || undefined,
        },
        urlGuard(c),
      );
      // The secret exists only in this response: no redirect, and no cache may keep it.
      return render(
        c,
        <SecretPage c={c} endpoint={endpoint} secret={secret} rotated={false} />,
        201,
      );
    } catch (error) {
      const problem = asProblem(error);
      return render(
        c,
        <NewWebhookPage c={c} draft={draft} errors={endpointErrors(problem)} />,
        problem.status as 409 | 422,
      );
    }
  });

  ui.get("/webhooks/:id", signedIn(), async (c) => {
    return renderEndpoint(c, await endpointOfPage(c));
  });

  ui.post("/webhooks/:id/edit", signedIn(), async (c) => {
    const endpoint = await endpointOfPage(c);
    const draft = draftOf((await c.req.parseBody({ all: true })) as FormBody, true);
    draft.kind = endpoint.kind;
    try {
      await updateEndpoint(
        mutationContext(c),
        projectOf(c),
        endpoint.id,
        {
          // Only what changed: an unchanged URL is not checked again, as in a PATCH without it.
          ...(draft.url !== endpoint.url ? { url: draft.url } : {}),
          ...(draft.authToken ? { authToken: draft.authToken } : {}),
          description: draft.description,
          eventTypes: draft.eventTypes,
          active: draft.active,
        },
        urlGuard(c),
      );
    } catch (error) {
      const problem = asProblem(error);
      return renderEndpoint(c, endpoint, {
        draft,
        errors: endpointErrors(problem),
        status: problem.status as 409 | 422,
      });
    }
    return c.redirect(webhookPath(endpoint.id, "?updated"), 303);
  });

  ui.post("/webhooks/:id/test", signedIn(), async (c) => {
    const endpoint = await endpointOfPage(c);
    await sendTestEvent(mutationContext(c), projectOf(c), endpoint.id);
    return c.redirect(webhookPath(endpoint.id, "?tested"), 303);
  });

  ui.get("/webhooks/:id/rotate", signedIn(), async (c) => {
    return render(c, <ConfirmPage c={c} endpoint={await endpointOfPage(c)} kind="rotate" />);
  });

  ui.post("/webhooks/:id/rotate", signedIn(), async (c) => {
    const endpoint = await endpointOfPage(c);
    const raw = formText((await c.req.parseBody()) as FormBody, "overlapHours");
    const rotated = await rotateSecret(mutationContext(c), projectOf(c), endpoint.id, {
      overlapHours: raw === "" ? undefined : Number(raw),
    });
    return render(
      c,
      <SecretPage c={c} endpoint={rotated.endpoint} secret={rotated.secret} rotated />,
    );
  });

  ui.get("/webhooks/:id/delete", signedIn(), async (c) => {
    return render(c, <ConfirmPage c={c} endpoint={await endpointOfPage(c)} kind="delete" />);
  });

  ui.post("/webhooks/:id/delete", signedIn(), async (c) => {
    const endpoint = await endpointOfPage(c);
    await deleteEndpoint(mutationContext(c), projectOf(c), endpoint.id);
    return c.redirect(`/webhooks?deleted=${encodeURIComponent(endpoint.url)}`, 303);
  });

  ui.get("/webhooks/:id/deliveries/:deliveryId", signedIn(), async (c) => {
    const endpoint = await endpointOfPage(c);
    const delivery = await getDelivery(
      readContext(c),
      projectOf(c),
      endpoint.id,
      c.req.param("deliveryId"),
    );
    return render(c, <DeliveryPage c={c} endpoint={endpoint} delivery={delivery} />);
  });

  ui.post("/webhooks/:id/deliveries/:deliveryId/redeliver", signedIn(), async (c) => {
    const endpoint = await endpointOfPage(c);
    await redeliver(mutationContext(c), projectOf(c), endpoint.id, c.req.param("deliveryId"));
    return c.redirect(webhookPath(endpoint.id, "?redelivered"), 303);
  });
}
