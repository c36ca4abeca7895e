import { bearerToken } from "@cuecard/core/keys";
import { KEY_NAME_MAX, PROJECT_NAME_MAX } from "@cuecard/core/limits";
import { ProblemError } from "@cuecard/core/problem";
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { openDatabase } from "../../../platform/db/client";
import { projectSlug } from "../../../platform/fields";
import { type AdminHonoEnv, mutationContext } from "../../../platform/http/app";
import {
  conflictResponse,
  errorResponses,
  jsonBody,
  jsonResponse,
} from "../../../platform/http/openapi";
import { findActiveSession } from "../access";
import { clientAddress, countFailedAuth, signInWithKey } from "../auth-failures";
import { bootstrapProject } from "../keys";
import { assertSameOrigin, SESSION_COOKIE, sameSecret } from "../middleware";
import { defineRoute } from "../route-policy";
import { Key } from "../schemas";
import { closeSession, SESSION_TTL_MS } from "../sessions";

const bootstrapRoute = defineRoute({
  operationId: "bootstrapProject",
  permission: "public",
  method: "post",
  path: "/v1/bootstrap",
  tags: ["access"],
  summary: "Create a project's first admin key with the deployment's bootstrap token",
  description:
    "Send the bootstrap token (the ADMIN_BOOTSTRAP_TOKEN secret) as a bearer token. Creates the project if needed and its first admin key. Refused once the project has an active admin key: the token is a way in, not a back door.",
  request: {
    body: jsonBody(
      z.strictObject({
        project: projectSlug,
        projectName: z.string().min(1).max(PROJECT_NAME_MAX).optional(),
        keyName: z.string().min(1).max(KEY_NAME_MAX).default("first admin"),
      }),
    ),
  },
  responses: {
    201: jsonResponse(z.object({ key: Key, secret: z.string() }), "The admin key and its secret"),
    ...errorResponses,
    ...conflictResponse,
  },
});

const Session = z
  .object({
    csrfToken: z
      .string()
      .openapi({ description: "Echo in the x-csrf-token header of every change" }),
    projectId: z.string(),
    role: z.string(),
    name: z.string(),
    expiresAt: z.string().optional(),
  })
  .openapi("Session");

const signInRoute = defineRoute({
  operationId: "signIn",
  permission: "public",
  method: "post",
  path: "/v1/session",
  tags: ["access"],
  summary: "Sign in with a key: sets an HttpOnly, SameSite=Strict session cookie",
  request: { body: jsonBody(z.strictObject({ key: z.string().min(1).max(200) })) },
  responses: { 200: jsonResponse(Session, "Signed in"), ...errorResponses },
});

const sessionRoute = defineRoute({
  operationId: "getSession",
  permission: "public",
  method: "get",
  path: "/v1/session",
  tags: ["access"],
  summary: "The current browser session",
  responses: { 200: jsonResponse(Session, "Signed in"), ...errorResponses },
});

const signOutRoute = defineRoute({
  operationId: "signOut",
  permission: "public",
  method: "delete",
  path: "/v1/session",
  tags: ["access"],
  summary: "Sign out",
  responses: { 204: { description: "Signed out" }, ...errorResponses },
});

export function registerAccessRoutes(app: OpenAPIHono<AdminHonoEnv>) {
  app.openapi(bootstrapRoute, async (c) => {
    const token = bearerToken(c.req.header("authorization"));
    const expected = c.env.ADMIN_BOOTSTRAP_TOKEN;
    if (!token || !expected || !sameSecret(token, expected)) {
      const refusal = new ProblemError(
        "unauthorized",
        "Send the deployment's bootstrap token as a bearer token.",
      );
      if (!token) throw refusal;
      const address = clientAddress((name) => c.req.header(name));
      throw (await countFailedAuth(c.env.FAILED_AUTH_LIMITER, address, refusal)).error;
    }
    const actor = {
      id: "bootstrap",
      name: "bootstrap",
      role: "bootstrap",
      projectId: null,
      via: "bootstrap",
    } as const;
    c.set("actor", actor);
    return c.json(await bootstrapProject(mutationContext(c), c.req.valid("json")), 201);
  });

  app.openapi(signInRoute, async (c) => {
    assertSameOrigin(c);
    const opened = await signInWithKey(
      c.env,
      { header: (name) => c.req.header(name), requestId: c.get("requestId"), via: "api" },
      c.req.valid("json").key,
    );
    setCookie(c, SESSION_COOKIE, opened.token, {
      httpOnly: true,
      secure: true,
      sameSite: "Strict",
      path: "/",
      maxAge: SESSION_TTL_MS / 1000,
    });
    return c.json(
      {
        csrfToken: opened.csrfToken,
        projectId: opened.actor.projectId ?? "",
        role: opened.actor.role,
        name: opened.actor.name,
        expiresAt: opened.expiresAt,
      },
      200,
    );
  });

  app.openapi(sessionRoute, async (c) => {
    const cookie = getCookie(c, SESSION_COOKIE);
    const found = cookie ? await findActiveSession(openDatabase(c.env.DB), cookie) : undefined;
    if (!found) throw new ProblemError("unauthorized", "Not signed in.");
    return c.json(
      {
        csrfToken: found.session.csrfToken,
        projectId: found.session.projectId,
        role: found.session.role,
        name: found.key.name,
        expiresAt: found.session.expiresAt,
      },
      200,
    );
  });

  app.openapi(signOutRoute, async (c) => {
    assertSameOrigin(c);
    const cookie = getCookie(c, SESSION_COOKIE);
    if (cookie) await closeSession(openDatabase(c.env.DB), cookie);
    deleteCookie(c, SESSION_COOKIE, { path: "/", secure: true });
    return c.body(null, 204);
  });
}
