/**
 * KV namespaces that misbehave on purpose, by wrapping the real binding in a Proxy: product code
 * is not edited to inject faults.
 */

export interface KvProbe {
  kv: KVNamespace;
  /** Keys passed to each `get` call, in order (a bulk get is one entry with many keys). */
  gets: string[][];
  /** The `cacheTtl` of the latest `get` of each key. */
  cacheTtls: Map<string, number | undefined>;
  /** While true, every `get` throws as KV does during an outage. */
  failing: boolean;
}

export function probeKv(real: KVNamespace): KvProbe {
  const probe: KvProbe = { kv: real, gets: [], cacheTtls: new Map(), failing: false };
  probe.kv = new Proxy(real, {
    get(target, property, receiver) {
      if (property !== "get") return Reflect.get(target, property, receiver);
      return async (keys: string | string[], options?: unknown) => {
        const list = Array.isArray(keys) ? keys : [keys];
        probe.gets.push(list);
        const cacheTtl = (options as { cacheTtl?: number } | undefined)?.cacheTtl;
        for (const key of list) probe.cacheTtls.set(key, cacheTtl);
        if (probe.failing) throw new Error("KV GET failed: 503 Service Unavailable");
        // Forwards both overloads of KV get (one key, or a bulk list) unchanged.
        return target.get(keys as any, options as any);
      };
    },
  });
  return probe;
}

/** An ExecutionContext whose background work the test can await. */
export function testExecutionContext() {
  const background: Promise<unknown>[] = [];
  const ctx = {
    waitUntil: (promise: Promise<unknown>) => {
      background.push(promise);
    },
    passThroughOnException: () => {},
    props: {},
  } as unknown as ExecutionContext;
  return { ctx, settle: () => Promise.all(background.splice(0)) };
}
