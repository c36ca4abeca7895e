import { ProblemError } from "@cuecard/core/problem";
import type { Hono } from "hono";
import { getCookie } from "hono/cookie";
import { describedBy, FieldError, Page } from "../../../../admin/components/layout";
import { render } from "../../../../admin/render";
import {
  clearSessionCookie,
  safeNext,
  setSessionCookie,
  signedIn,
  type UiEnv,
} from "../../../../admin/session";
import { type AdminContext, databaseOf } from "../../../platform/http/app";
import { signInWithKey } from "../auth-failures";
import { assertSameOrigin, SESSION_COOKIE } from "../middleware";
import { closeSession } from "../sessions";

function SignInPage(props: { next: string; error?: string; signedOut?: boolean }) {
  return (
    <Page title="Sign in">
      <div class="sign-in">
        <h1>Sign in to Cuecard</h1>
        <p class="muted">
          Use an editor, publisher or admin key of your project. Cuecard keeps a session cookie, not
          the key.
        </p>
        {props.signedOut ? (
          <div class="notice notice-ok" role="status">
            You are signed out.
          </div>
        ) : null}
        <form method="post" action="/sign-in" class="card" novalidate>
          <input type="hidden" name="next" value={props.next} />
          <div class="field">
            <label for="key">API key</label>
            <input
              type="password"
              name="key"
              autocomplete="off"
              required
              placeholder="cc_publisher_…"
              {...describedBy("key", props.error)}
            />
            <FieldError id="key-error" message={props.error} />
          </div>
          <button type="submit" class="button-primary">
            Sign in
          </button>
        </form>
      </div>
    </Page>
  );
}

export function registerSessionPages(ui: Hono<UiEnv>) {
  ui.get("/sign-in", (c) =>
    render(
      c,
      <SignInPage
        next={safeNext(c.req.query("next"), new URL(c.req.url).origin)}
        signedOut={c.req.query("signed-out") === "1"}
      />,
    ),
  );

  ui.post("/sign-in", async (c) => {
    // No session yet, so no CSRF token: the origin check stops another site signing a user in.
    assertSameOrigin(c as unknown as AdminContext);
    const form = await c.req.parseBody();
    const key = typeof form.key === "string" ? form.key : "";
    const next = safeNext(
      typeof form.next === "string" ? form.next : undefined,
      new URL(c.req.url).origin,
    );
    if (key.trim() === "") {
      return render(c, <SignInPage next={next} error="Paste your API key." />, 422);
    }
    try {
      const opened = await signInWithKey(
        c.env,
        { header: (name) => c.req.header(name), requestId: c.get("requestId"), via: "ui" },
        key,
      );
      setSessionCookie(c, opened.token);
      return c.redirect(next, 303);
    } catch (error) {
      if (!(error instanceof ProblemError) || error.status >= 500) throw error;
      for (const [name, value] of Object.entries(error.headers ?? {})) c.header(name, value);
      return render(
        c,
        <SignInPage next={next} error={error.message} />,
        error.status as 401 | 403 | 429,
      );
    }
  });

  ui.post("/sign-out", signedIn(), async (c) => {
    const token = getCookie(c, SESSION_COOKIE);
    if (token) await closeSession(databaseOf(c), token);
    clearSessionCookie(c);
    return c.redirect("/sign-in?signed-out=1", 303);
  });
}
