import { toProblem } from "@cuecard/core/problem";
import { auditDenial } from "../workers/platform/denials";
import { databaseOf } from "../workers/platform/http/app";
import { Page } from "./components/layout";
import { render } from "./render";
import type { UiContext } from "./session";

const HEADINGS: Record<number, string> = {
  401: "Please sign in again",
  403: "You can't do that",
  404: "Not found",
  409: "That conflicts with a change made meanwhile",
  413: "That is too large",
  422: "That input is not valid",
};

/**
 * UI failures as pages, not problem+json: the same ProblemError the API would send, with its
 * message, a way back, and the request id to report. Denials are audited as in the API.
 */
export async function renderUiError(error: unknown, c: UiContext): Promise<Response> {
  const problem = toProblem(error);
  if (problem.status >= 500) console.error("UI request failed", c.get("requestId"), error);
  const actor = c.get("actor");
  if (problem.status === 401 && !actor) return c.redirect("/sign-in", 303);
  if (actor && problem.status === 403) {
    await auditDenial(databaseOf(c), actor, {
      projectId: actor.projectId ?? "-",
      requestId: c.get("requestId"),
      action: `${c.req.method} ${new URL(c.req.url).pathname}`,
      detail: problem.message,
    }).catch((auditError) => console.error("denial audit failed", String(auditError)));
  }
  const heading = HEADINGS[problem.status] ?? "Something went wrong";
  return render(
    c,
    <Page title={heading} actor={actor} csrfToken={c.get("csrfToken")}>
      <h1>{heading}</h1>
      <div class="notice notice-error" role="alert">
        <p>{problem.message}</p>
        {problem.errors?.length ? (
          <ul>
            {problem.errors.map((e) => (
              <li>
                <code>{e.field}</code>: {e.message}
              </li>
            ))}
          </ul>
        ) : null}
      </div>
      <p>
        <a href="/" class="button button-secondary">
          Back to prompts
        </a>
      </p>
      <p class="muted small">Request id: {c.get("requestId")}</p>
    </Page>,
    problem.status as 400,
  );
}
