import type { Database } from "../db/client";

/** Who is acting. `bootstrap` is the deployment's bootstrap admin token. */
export interface Actor {
  id: string;
  role: "reader" | "editor" | "publisher" | "admin";
}

/** The bindings the control plane works with, passed in rather than read from a global Env. */
export interface Platform {
  db: Database;
  kv: KVNamespace;
  events: Queue<EventMessage>;
}

/** Everything a mutation needs to be attributed and audited. */
export interface MutationContext extends Platform {
  actor: Actor;
  requestId: string;
  /** Background work that may outlive the response (ctx.waitUntil), when there is a request. */
  waitUntil?: (promise: Promise<unknown>) => void;
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

export const nowIso = () => new Date().toISOString();
