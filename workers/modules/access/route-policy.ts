import { createRoute, type OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import { PERMISSION_ACTIONS, type Permission } from "./roles";

/**
 * Who may call an admin API route, declared beside the route's definition: the permission it
 * needs, or "public" for the few routes that authenticate on their own terms (the bootstrap
 * token, signing in and out). The access middleware decides every request from these
 * declarations; a route that declares nothing is refused for everyone (fail closed).
 */
export type RouteAccess = Permission | "public";

/** The route definition's field that carries its access; the OpenAPI document shows it too. */
export const ROUTE_ACCESS_FIELD = "x-cuecard-permission";

/**
 * `createRoute` with the route's access declared: the one way admin API routes are defined. The
 * `operationId` is required too: generated clients name their methods after it.
 */
export function defineRoute<
  const R extends RouteConfig & { permission: RouteAccess; operationId: string },
>(route: R) {
  const { permission, ...config } = route;
  return createRoute({ ...config, [ROUTE_ACCESS_FIELD]: permission } as Omit<R, "permission">);
}

function isRouteAccess(value: unknown): value is RouteAccess {
  return value === "public" || (typeof value === "string" && value in PERMISSION_ACTIONS);
}

/** A route's declared access, or undefined when it declares none. */
export function declaredAccess(route: object): RouteAccess | undefined {
  const value = (route as Record<string, unknown>)[ROUTE_ACCESS_FIELD];
  return isRouteAccess(value) ? value : undefined;
}

/** `METHOD /v1/…` as the middleware names the matched route (`{project}` written `:project`). */
export function routeKeyOf(method: string, path: string): string {
  return `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`;
}

/** The access every registered route declares, by route key: the admin API's route policy. */
export function routePolicyOf(
  registry: OpenAPIHono["openAPIRegistry"],
): ReadonlyMap<string, RouteAccess> {
  const policy = new Map<string, RouteAccess>();
  for (const definition of registry.definitions) {
    if (definition.type !== "route") continue;
    const access = declaredAccess(definition.route);
    if (access) policy.set(routeKeyOf(definition.route.method, definition.route.path), access);
  }
  return policy;
}
