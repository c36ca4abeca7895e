import type { Hono } from "hono";
import { Page, Time } from "../../../../admin/components/layout";
import { shortValue } from "../../../../admin/components/settings";
import { render } from "../../../../admin/render";
import { projectOf, signedIn, type UiContext, type UiEnv } from "../../../../admin/session";
import { readContext } from "../../../platform/http/app";
import { type AuditFilter, type AuditRow, actorNames, listAudit } from "../audit";

const PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200;

interface Filter {
  action: string;
  actor: string;
  target: string;
  /** Entries per page, when not the default: kept across filters and pages. */
  limit?: string;
}

/** The audit page's URL for a filter (and optionally a cursor); empty fields are left out. */
function auditHref(filter: Partial<Filter>, before?: number): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(filter)) if (value) query.set(name, value);
  if (before) query.set("before", String(before));
  const text = query.toString();
  return text ? `/audit?${text}` : "/audit";
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

const LONG = 64;

/** A value cut to a table cell's worth; the whole value is in the tooltip. */
function Short({ text, as }: { text: string; as: "del" | "ins" | "span" }) {
  const cut = text.length > LONG ? `${text.slice(0, LONG - 1)}…` : text;
  const title = cut === text ? undefined : text;
  if (as === "del") return <del title={title}>{cut}</del>;
  if (as === "ins") return <ins title={title}>{cut}</ins>;
  return (
    <span class="muted" title={title}>
      {cut}
    </span>
  );
}

/** `field: before → after` for every field that either side has, compactly. */
function Change({ before, after }: { before: unknown; after: unknown }) {
  const b = asRecord(before);
  const a = asRecord(after);
  if (!b && !a) {
    if (before == null && after == null) return <span class="muted">—</span>;
    return (
      <span class="change-list">
        <Short text={shortValue(before)} as="del" /> → <Short text={shortValue(after)} as="ins" />
      </span>
    );
  }
  const fields = [...new Set([...Object.keys(b ?? {}), ...Object.keys(a ?? {})])];
  return (
    <ul class="change-list">
      {fields.map((field) => {
        const was = b && field in b ? shortValue(b[field]) : undefined;
        const now = a && field in a ? shortValue(a[field]) : undefined;
        return (
          <li>
            <span class="change-field">{field}</span>{" "}
            {was !== undefined && was === now ? (
              <Short text={was} as="span" />
            ) : (
              <>
                {was !== undefined ? <Short text={was} as="del" /> : null}
                {was !== undefined && now !== undefined ? " → " : null}
                {now !== undefined ? <Short text={now} as="ins" /> : null}
              </>
            )}
          </li>
        );
      })}
    </ul>
  );
}

function AuditPage(props: {
  c: UiContext;
  filter: Filter;
  before?: number;
  items: AuditRow[];
  nextCursor: number | null;
  names: Map<string, string>;
}) {
  const { c, filter } = props;
  const filtered = filter.action || filter.actor || filter.target;
  return (
    <Page title="Audit log" actor={c.get("actor")} csrfToken={c.get("csrfToken")}>
      <div class="page-head">
        <div>
          <h1>Audit log</h1>
          <p class="lead">
            Every change to project <strong>{c.get("actor").projectId}</strong> and every refused
            attempt, newest first.
          </p>
        </div>
      </div>
      <form method="get" action="/audit" class="filters" aria-label="Filter the audit log">
        <div class="field">
          <label for="action">Action</label>
          <input
            type="text"
            id="action"
            name="action"
            value={filter.action}
            placeholder="e.g. key.create"
          />
        </div>
        <div class="field">
          <label for="actor">Actor</label>
          <input
            type="text"
            id="actor"
            name="actor"
            value={filter.actor}
            placeholder="a key id, e.g. key_…"
          />
        </div>
        <div class="field">
          <label for="target">Target</label>
          <input
            type="text"
            id="target"
            name="target"
            value={filter.target}
            placeholder="e.g. whk_… or a prompt"
          />
        </div>
        {filter.limit ? <input type="hidden" name="limit" value={filter.limit} /> : null}
        <button type="submit" class="button-secondary">
          Filter
        </button>
        {filtered ? (
          <a href="/audit" class="quiet-link">
            Clear
          </a>
        ) : null}
      </form>
      {props.before ? (
        <p class="small">
          Showing entries older than #{props.before}.{" "}
          <a href={auditHref(filter)}>Back to the newest</a>
        </p>
      ) : null}
      {props.items.length === 0 ? (
        <div class="empty">
          <p>{filtered ? "No entry matches these filters." : "Nothing recorded yet."}</p>
        </div>
      ) : (
        <table class="table audit-table">
          <caption class="visually-hidden">Audit log, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Before → after</th>
            </tr>
          </thead>
          <tbody>
            {props.items.map((row) => (
              <tr>
                <td>
                  <Time iso={row.createdAt} />
                </td>
                <td>
                  <a href={auditHref({ ...filter, actor: row.actor })} title="Only this actor">
                    {props.names.get(row.actor) ?? row.actor}
                  </a>{" "}
                  <span class={`role-pill role-pill-${row.actorRole}`}>{row.actorRole}</span>
                  {props.names.has(row.actor) ? (
                    <div class="muted small mono">{row.actor}</div>
                  ) : null}
                </td>
                <td>
                  <a
                    href={auditHref({ ...filter, action: row.action })}
                    class={`action-name${row.action === "access.denied" ? " action-denied" : ""}`}
                    title="Only this action"
                  >
                    {row.action}
                  </a>
                </td>
                <td>
                  <span class="muted small">{row.targetType}</span>{" "}
                  <a href={auditHref({ ...filter, target: row.target })} class="mono small">
                    {row.target}
                  </a>
                </td>
                <td>
                  <Change before={row.before} after={row.after} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.nextCursor ? (
        <p class="pager">
          <a class="button button-secondary" href={auditHref(filter, props.nextCursor)} rel="next">
            Older entries
          </a>
        </p>
      ) : null}
    </Page>
  );
}

export function registerAuditPages(ui: Hono<UiEnv>) {
  ui.get("/audit", signedIn(), async (c) => {
    const ctx = readContext(c);
    const projectId = projectOf(c);
    // The same bounds as the API's query schema; longer text cannot match anything.
    const text = (name: string, max: number) => (c.req.query(name) ?? "").trim().slice(0, max);
    const filter: Filter = {
      action: text("action", 64),
      actor: text("actor", 128),
      target: text("target", 256),
    };
    const cursor = Number(c.req.query("before"));
    const before = Number.isSafeInteger(cursor) && cursor > 0 ? cursor : undefined;
    const size = Number(c.req.query("limit"));
    const limit =
      Number.isSafeInteger(size) && size > 0 ? Math.min(size, MAX_PAGE_SIZE) : undefined;
    if (limit) filter.limit = String(limit);
    const query: AuditFilter = {
      action: filter.action || undefined,
      actor: filter.actor || undefined,
      target: filter.target || undefined,
      limit: limit ?? PAGE_SIZE,
      before,
    };
    // Actors are recorded by id; the page shows the key's name where it is one of the project's.
    const [page, names] = await Promise.all([
      listAudit(ctx, projectId, query),
      actorNames(ctx, projectId),
    ]);
    return render(
      c,
      <AuditPage
        c={c}
        filter={filter}
        before={before}
        items={page.items}
        nextCursor={page.nextCursor}
        names={names}
      />,
    );
  });
}
