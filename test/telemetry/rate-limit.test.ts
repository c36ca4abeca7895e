import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { fromEdge, generation, newProject } from "./harness";

describe("ingest rate limit", () => {
  const RATE_LIMIT_IN_TESTS = env.TEST_RATE_LIMIT;

  it("answers 429 with Retry-After past the key's limit, and other keys still get through", async () => {
    const project = newProject();
    const statuses: number[] = [];
    for (let request = 0; request <= RATE_LIMIT_IN_TESTS; request++) {
      const response = await fromEdge(
        "/v1/events",
        { events: [generation()] },
        { project, key: "key_busy" },
      );
      statuses.push(response.status);
      if (response.status === 429) {
        expect(response.headers.get("retry-after")).toBe("60");
        expect(await response.json()).toMatchObject({ code: "rate_limited" });
      }
    }
    expect(statuses.slice(0, RATE_LIMIT_IN_TESTS).every((status) => status === 200)).toBe(true);
    expect(statuses.at(-1)).toBe(429);

    const otherKey = await fromEdge(
      "/v1/scores",
      {
        name: "helpful",
        value: true,
        generationId: "gen_1",
        id: "s_1",
        timestamp: new Date().toISOString(),
      },
      { project, key: "key_quiet" },
    );
    expect(otherKey.status).toBe(202);
  });
});
