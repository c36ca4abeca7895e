import { fieldErrors, ProblemError } from "@cuecard/core/problem";
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Actor, MutationContext, OptionalModules, Platform, ReadContext } from "../context";
import { type Database, openDatabase } from "../db/client";

export interface AdminVariables {
  requestId: string;
  /** The bindings as the modules use them, wired once per request by the app. */
  platform: Platform;
  /** Optional modules' hooks (no-op defaults when not deployed), wired with `platform`. */
  modules: OptionalModules;
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

/** What every request handler of the admin worker (API and UI alike) can read. */
interface RequestScope {
  env: AdminEnv;
  var: Pick<AdminVariables, "actor" | "requestId" | "platform">;
}

/** The database of this request, for read verbs. */
export function databaseOf(c: Pick<RequestScope, "env">): Database {
  return openDatabase(c.env.DB);
}

/** The database and identity a read verb needs, from the request (API route or UI page). */
export function readContext(c: RequestScope): ReadContext {
  return { db: c.var.platform.db, actor: c.var.actor };
}

/** The bindings and identity a domain verb needs, from the request (API route or UI page). */
export function mutationContext(c: RequestScope): MutationContext {
  return { ...c.var.platform, actor: c.var.actor, requestId: c.var.requestId };
}
