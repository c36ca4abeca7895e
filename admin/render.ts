import type { Child } from "hono/jsx";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { UiContext } from "./session";

/** Sends a server-rendered page; pages never cache, they show live label state. */
export function render(c: UiContext, page: Child, status: ContentfulStatusCode = 200) {
  c.header("cache-control", "no-store");
  return c.html(`<!doctype html>${String(page)}`, status);
}
