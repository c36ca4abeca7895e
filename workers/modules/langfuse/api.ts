import { isWellFormedKey } from "@cuecard/core/keys";
import {
  basicCredentials,
  langfuseErrorResponse,
  langfuseProblemResponse,
  langfusePublicKey,
} from "@cuecard/core/langfuse";
import { REQUEST_BODY_MAX_BYTES } from "@cuecard/core/limits";
import { ProblemError } from "@cuecard/core/problem";
import type { z } from "@hono/zod-openapi";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Actor } from "../../platform/context";
import {
  type AdminContext,
  type AdminHonoEnv,
  mutationContext,
  readContext,
} from "../../platform/http/app";
import { actorOfKey, findActiveKey, forbidden, touchKey } from "../access/access";
import { clientAddress, countFailedAuth } from "../access/auth-failures";
import {
  createLangfusePrompt,
  deleteLangfusePrompt,
  listLangfusePrompts,
  setLangfuseLabels,
} from "./prompts";
import {
  LangfuseCreatePrompt,
  LangfuseDeleteQuery,
  LangfuseLabelsPatch,
  LangfuseListQuery,
} from "./schemas";

/**
 * The Langfuse prompt API's cold paths (list, create, label moves, delete), which the edge hands
 * over unchanged through its ADMIN binding: the edge's OpenAPI document describes them, at the one
 * base URL apps use. Authenticated with the Langfuse key pair (core/langfuse.ts), answered in
 * Langfuse's `{message, error}` shape; the prompts module's verbs decide everything else.
 */

/** The key the Basic pair views: the secret key is looked up as a bearer key would be. */
async function langfuseActor(c: AdminContext): Promise<Actor> {
  const authorization = c.req.header("authorization");
  const pair = basicCredentials(authorization);
  if (!pair) {
    if (/^bearer /i.test(authorization ?? "")) {
      throw forbidden("Access denied - need to use basic auth with secret key");
    }
    throw new ProblemError(
      "unauthorized",
      "Send the key pair as HTTP Basic credentials: publicKey pk-lf-… and secretKey cc_…",
    );
  }
  const db = c.var.platform.db;
  const key = isWellFormedKey(pair.secretKey) ? await findActiveKey(db, pair.secretKey) : undefined;
  if (!key || langfusePublicKey(key.id) !== pair.publicKey) {
    const refusal = new ProblemError(
      "unauthorized",
      "The key pair is unknown, revoked or expired, or its public key names another key.",
    );
    const address = clientAddress((name) => c.req.header(name));
    throw (await countFailedAuth(c.env.FAILED_AUTH_LIMITER, address, refusal)).error;
  }
  if (key.browser) {
    throw forbidden("This is a browser key: it only reads prompts at the edge.");
  }
  c.executionCtx.waitUntil(touchKey(db, key).catch(() => {}));
  return actorOfKey(key);
}

/** The request's part, checked by a schema: Langfuse's 400 naming what is wrong. */
function valid<S extends z.ZodType>(schema: S, value: unknown, part: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const detail = result.error.issues
      .map((issue) => `${[part, ...issue.path].join(".")}: ${issue.message}`)
      .join("; ");
    throw new ProblemError("bad_request", `Invalid request: ${detail}`);
  }
  return result.data;
}

async function jsonBody(c: AdminContext): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw new ProblemError("bad_request", "The body is not valid JSON.");
  }
}

/** The prompt name: one URL-encoded path segment, which Hono has decoded. */
const nameParam = (c: AdminContext): string => c.req.param("name") ?? "";

type LangfuseHandler = (c: AdminContext, projectId: string) => Promise<Response>;

/** Authenticates, then answers every refusal (auth, validation, the verbs') in Langfuse's shape. */
const langfuseRoute = (handler: LangfuseHandler) =>
  async function langfuseRoute(c: AdminContext): Promise<Response> {
    try {
      const actor = await langfuseActor(c);
      c.set("actor", actor);
      if (!actor.projectId) throw forbidden("This credential belongs to no project.");
      return await handler(c, actor.projectId);
    } catch (error) {
      return langfuseProblemResponse(error);
    }
  };

export function createLangfuseRouter() {
  const router = new Hono<AdminHonoEnv>();
  router.use(
    bodyLimit({
      maxSize: REQUEST_BODY_MAX_BYTES,
      onError: () =>
        langfuseErrorResponse(413, `The body is larger than ${REQUEST_BODY_MAX_BYTES} bytes.`),
    }),
  );
  router.get(
    "/v2/prompts",
    langfuseRoute(async (c, projectId) => {
      const query = valid(LangfuseListQuery, c.req.query(), "query");
      return c.json(await listLangfusePrompts(readContext(c), projectId, query), 200);
    }),
  );
  router.post(
    "/v2/prompts",
    langfuseRoute(async (c, projectId) => {
      const input = valid(LangfuseCreatePrompt, await jsonBody(c), "body");
      return c.json(await createLangfusePrompt(mutationContext(c), projectId, input), 201);
    }),
  );
  router.patch(
    "/v2/prompts/:name/versions/:version",
    langfuseRoute(async (c, projectId) => {
      const version = Number(c.req.param("version"));
      if (!Number.isInteger(version) || version < 1) {
        throw new ProblemError("bad_request", "The version must be a positive integer.");
      }
      const { newLabels } = valid(LangfuseLabelsPatch, await jsonBody(c), "body");
      const ctx = mutationContext(c);
      return c.json(await setLangfuseLabels(ctx, projectId, nameParam(c), version, newLabels), 200);
    }),
  );
  router.delete(
    "/v2/prompts/:name",
    langfuseRoute(async (c, projectId) => {
      const query = valid(LangfuseDeleteQuery, c.req.query(), "query");
      await deleteLangfusePrompt(mutationContext(c), projectId, nameParam(c), query);
      return c.body(null, 204);
    }),
  );
  router.all("/v2/prompts", (c) =>
    langfuseErrorResponse(405, `${c.req.method} is not allowed on ${c.req.path}.`),
  );
  router.all("/*", (c) => langfuseErrorResponse(404, `There is no ${c.req.method} ${c.req.path}.`));
  return router;
}
