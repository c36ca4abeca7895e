import type { Child } from "hono/jsx";
import { type Capabilities, capabilitiesOf } from "../../workers/modules/access/access";
import type { Actor } from "../../workers/platform/context";
import { CSRF_FIELD } from "../session";

/** Asset URLs carry a version so a deploy never mixes an old stylesheet with new markup. */
export const ASSET_VERSION = "6";

interface PageProps {
  title: string;
  /** Absent on the sign-in page. */
  actor?: Actor;
  csrfToken?: string;
  children: Child;
}

export function Page({ title, actor, csrfToken, children }: PageProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · Cuecard`}</title>
        <link rel="icon" href={`/assets/favicon.svg?v=${ASSET_VERSION}`} type="image/svg+xml" />
        <link rel="stylesheet" href={`/assets/cuecard.css?v=${ASSET_VERSION}`} />
        <script src={`/assets/cuecard.js?v=${ASSET_VERSION}`} defer />
      </head>
      <body>
        <a class="skip-link" href="#main">
          Skip to content
        </a>
        <header class="topbar">
          <a class="brand" href="/">
            Cuecard
          </a>
          {actor ? (
            <>
              <MainNav actor={actor} />
              <div class="who">
                <span class="project" title="Project">
                  {actor.projectId}
                </span>
                <span>
                  {actor.name} <span class={`role role-${actor.role}`}>{actor.role}</span>
                </span>
                <form method="post" action="/sign-out">
                  <CsrfField token={csrfToken} />
                  <button type="submit" class="link-button">
                    Sign out
                  </button>
                </form>
              </div>
            </>
          ) : null}
        </header>
        <main id="main">{children}</main>
      </body>
    </html>
  );
}

type Capability = Exclude<keyof Capabilities, "moveLabel" | "rollbackLabel" | "promote">;

/** Top-level sections, each shown only to those who may open it (the verbs check again). */
const SECTIONS: { href: string; text: string; needs?: Capability }[] = [
  { href: "/", text: "Prompts", needs: "readPrompts" },
  { href: "/new-prompt", text: "New prompt", needs: "writePrompts" },
  { href: "/keys", text: "Keys", needs: "manageKeys" },
  { href: "/webhooks", text: "Webhooks", needs: "manageWebhooks" },
  { href: "/audit", text: "Audit", needs: "readAudit" },
  { href: "/settings", text: "Settings", needs: "readPrompts" },
  { href: "/api/docs", text: "API" },
];

function MainNav({ actor }: { actor: Actor }) {
  const can = capabilitiesOf(actor);
  return (
    <nav aria-label="Main">
      {SECTIONS.filter((s) => !s.needs || can[s.needs]).map((s) => (
        <a href={s.href}>{s.text}</a>
      ))}
    </nav>
  );
}

/**
 * A link's text for "<verb><hidden detail>…", e.g. "Revoke" + " ci key" + "…", whose name is
 * "Revoke ci key…". The visually hidden detail is absolutely positioned, which makes it a block to
 * the browser's name computation: text after it gets a space before it ("Revoke ci key …"). So the
 * hidden part carries the ellipsis too, and the visible ellipsis is hidden from the name.
 */
export function EllipsisLinkText({ visible, hidden }: { visible: string; hidden: string }) {
  return (
    <>
      {visible}
      <span class="visually-hidden">{`${hidden}…`}</span>
      <span aria-hidden="true">…</span>
    </>
  );
}

export function CsrfField({ token }: { token: string | undefined }) {
  return <input type="hidden" name={CSRF_FIELD} value={token ?? ""} />;
}

/** Badge colours follow meaning: production is live, latest is automatic. */
export function LabelBadge({ name, version }: { name: string; version?: number }) {
  const kind = name === "production" ? "live" : name === "latest" ? "auto" : "other";
  return (
    <span class={`badge badge-${kind}`}>
      {name}
      {version !== undefined ? <span class="badge-version">v{version}</span> : null}
    </span>
  );
}

export function Time({ iso }: { iso: string }) {
  return (
    <time datetime={iso} title={iso}>
      {formatTime(iso)}
    </time>
  );
}

/** UTC, to the minute: the same wall time for every author, whatever their browser's zone. */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

export function Notice({ children, kind = "info" }: { children: Child; kind?: "info" | "ok" }) {
  return (
    <div class={`notice notice-${kind}`} role="status">
      {children}
    </div>
  );
}

/**
 * A message about the whole form (not one field), announced when the page loads; focusable so
 * the script can move focus to it when it is the first error.
 */
export function FormError({ message }: { message: string | undefined }) {
  if (!message) return null;
  return (
    <div class="notice notice-error" role="alert" tabindex={-1}>
      {message}
    </div>
  );
}

export function FieldError({ id, message }: { id: string; message: string | undefined }) {
  if (!message) return null;
  return (
    <p class="field-error" id={id}>
      {message}
    </p>
  );
}

/** The attributes that tie an input to its hint and error, for screen readers. */
export function describedBy(id: string, error: string | undefined, hint?: boolean) {
  const ids = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return {
    id,
    "aria-describedby": ids || undefined,
    "aria-invalid": error ? "true" : undefined,
  };
}

export function Breadcrumbs({ trail }: { trail: { href?: string; text: string }[] }) {
  return (
    <nav class="breadcrumbs" aria-label="Breadcrumb">
      <ol>
        {trail.map((step) => (
          <li>
            {step.href ? (
              <a href={step.href}>{step.text}</a>
            ) : (
              <span aria-current="page">{step.text}</span>
            )}
          </li>
        ))}
      </ol>
    </nav>
  );
}

/** URL of a prompt page: the name is one encoded path segment, as in the API. */
export function promptPath(name: string, rest = ""): string {
  return `/prompts/${encodeURIComponent(name)}${rest}`;
}
