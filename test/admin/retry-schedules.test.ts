import { describe, expect, it } from "vitest";
import { webhookRetryDelaySeconds } from "../../workers/modules/webhooks/delivery";
import { eventRetryDelaySeconds } from "../../workers/platform/events-consumer";

/** The schedules docs/webhooks.md and the events consumer promise. */
describe("retry schedules", () => {
  it("a webhook delivery waits 5 s, 5 min, 30 min, 2 h, then 5 h after each failed attempt", () => {
    expect([1, 2, 3, 4, 5, 6].map(webhookRetryDelaySeconds)).toEqual([
      5, 300, 1800, 7200, 18000, 18000,
    ]);
  });

  it("a failed event waits 10 s, 20 s, 40 s … at most 10 minutes", () => {
    expect([1, 2, 3, 4, 6, 7, 20].map(eventRetryDelaySeconds)).toEqual([
      10, 20, 40, 80, 320, 600, 600,
    ]);
  });
});
