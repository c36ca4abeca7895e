import { env } from "cloudflare:workers";
import { publishTarget } from "../../workers/admin/platform";
import type { EventMessage, MutationContext } from "../../workers/platform/context";
import { openDatabase } from "../../workers/platform/db/client";

/**
 * Fault injection by wrapping bindings, never by editing product code: each wrapper forwards to
 * the real binding except for the operation it is told to break.
 */

export class InjectedFault extends Error {
  constructor(what: string) {
    super(`injected fault: ${what}`);
  }
}

/** A KV namespace whose `put` throws for the next `failures` calls (Infinity: always). */
export function failingKv(failures = Number.POSITIVE_INFINITY, kv: KVNamespace = env.PROMPTS_KV) {
  let remaining = failures;
  return new Proxy(kv, {
    get(target, property, receiver) {
      if (property === "put") {
        return async (...args: Parameters<KVNamespace["put"]>) => {
          if (remaining > 0) {
            remaining--;
            throw new InjectedFault("KV put: 429 Too Many Requests");
          }
          return target.put(...args);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A queue whose `send` always throws. */
export function failingQueue(queue: Queue<EventMessage> = env.EVENTS as Queue<EventMessage>) {
  return new Proxy(queue, {
    get(target, property, receiver) {
      if (property === "send" || property === "sendBatch") {
        return async () => {
          throw new InjectedFault("queue send");
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A D1 database whose `batch` runs with its last-but-two statement replaced by a failing one. */
export function d1FailingLateInBatch(d1: D1Database = env.DB) {
  return new Proxy(d1, {
    get(target, property, receiver) {
      if (property === "batch") {
        return (statements: D1PreparedStatement[]) => {
          const broken = [...statements];
          // The change's own last statement: before the audit and outbox rows.
          broken.splice(
            broken.length - 3,
            1,
            target.prepare("INSERT INTO no_such_table VALUES (1)"),
          );
          return target.batch(broken);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

export function testContext(
  overrides: Partial<Omit<MutationContext, "db">> & { d1?: D1Database } = {},
): MutationContext {
  const { d1, ...rest } = overrides;
  const db = openDatabase(d1 ?? env.DB);
  const kv = rest.kv ?? env.PROMPTS_KV;
  return {
    db,
    kv,
    events: env.EVENTS as Queue<EventMessage>,
    // The app's own wiring (workers/admin/platform.ts), over the possibly faulty KV.
    publish: (projectId, target) => publishTarget({ db, kv }, projectId, target),
    actor: { id: "key_tester", name: "tester", role: "admin", projectId: "default", via: "key" },
    requestId: `req_test_${Math.random().toString(36).slice(2)}`,
    ...rest,
  };
}
