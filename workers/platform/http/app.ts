import { fieldErrors, ProblemError } from "@cuecard/core/problem";
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Actor, MutationContext } from "../context";
import { openDatabase } from "../db/client";

export interface AdminVariables {
  requestId: string;
  actor: Actor;
  /** Set when a request was answered 404 to hide another project: audited as a denial. */
  deniedHidden?: boolean;
}

export type AdminHonoEnv = { Bindings: AdminEnv; Variables: AdminVariables };
export type AdminContext = Context<AdminHonoEnv>;

/** An OpenAPI router whose validation failures become 422 problems listing every bad field. */
export function createRouter() {
  return new OpenAPIHono<AdminHonoEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const part =
          result.target === "json" ? "body" : result.target === "param" ? "path" : result.target;
        throw new ProblemError("validation_failed", "Some fields are not valid; see errors.", {
          errors: fieldErrors(part, result.error.issues),
        });
      }
    },
  });
}

/** The bindings and identity a domain verb needs, from the request. */
export function mutationContext(c: AdminContext): MutationContext {
  return {
    db: openDatabase(c.env.DB),
    kv: c.env.PROMPTS_KV,
    events: c.env.EVENTS,
    actor: c.get("actor"),
    requestId: c.get("requestId"),
  };
}
