import type { Role } from "@cuecard/core/roles";
import type { Database } from "./db/client";

/**
 * Who is acting: an API key, a browser session opened with a key, a Cloudflare Access user, or
 * the deployment's bootstrap token (which can only create a project's first admin key).
 */
export interface Actor {
  /** Stable id for the audit log: a key id, `access:<email>`, `bootstrap`, or `schedule:…`. */
  id: string;
  /** What people read in timelines: the key's name or the user's email. */
  name: string;
  /** `system`: the worker's own schedule (a rollout advancing), never a credential. */
  role: Role | "bootstrap" | "system";
  /** The one project the credential belongs to; null for the bootstrap token and the schedule. */
  projectId: string | null;
  via: "key" | "session" | "access" | "bootstrap" | "schedule";
  /** The session, when the actor signed in through the UI. */
  sessionId?: string;
}

/** The bindings the control plane works with, passed in rather than read from a global Env. */
export interface Platform {
  db: Database;
  kv: KVNamespace;
  events: Queue<EventMessage>;
  /**
   * Brings the KV projection an outbox row names (its publish target) in line with D1. Wired by
   * the app from the modules that own the targets; the platform only knows when to call it.
   */
  publish: (projectId: string, target: string) => Promise<unknown>;
}

/**
 * The hooks of optional modules: capabilities a deployment may leave out (telemetry is the first).
 * Each module adds its hook here by declaration merging (`declare module ".../context"`), and
 * the app wires every hook once per request in workers/admin/platform.ts (`optionalModulesOf`),
 * with the module's no-op default when its binding is absent. Routes and pages read them as
 * `c.var.modules`; the platform itself never calls them.
 */
// biome-ignore lint/suspicious/noEmptyInterface: modules extend it by declaration merging.
export interface OptionalModules {}

/** What a read verb needs: the database, and who reads (it checks they may). */
export interface ReadContext {
  db: Database;
  actor: Actor;
}

/** Everything a mutation needs to be attributed and audited. */
export interface MutationContext extends Platform {
  actor: Actor;
  requestId: string;
}

/** The body of a message on the events queue: one outbox row. */
export interface EventMessage {
  eventId: string;
  type: string;
  projectId: string;
  publishTarget: string | null;
  payload: unknown;
  createdAt: string;
}
