import { readFileSync } from "node:fs";
import { type EventType, WEBHOOK_EVENT_TYPES } from "@cuecard/core/events";
import { describe, expect, it } from "vitest";

/** Sent by "send test event" to one endpoint; documented with the rest. */
const TEST_EVENT_TYPE: EventType = "webhook.test";

/** The event types docs/webhooks.md documents, read from its "Events" table. */
function documentedEventTypes(): string[] {
  const doc = readFileSync(new URL("../../docs/webhooks.md", import.meta.url), "utf8");
  const section = doc.split("## Events")[1]?.split("\n## ")[0] ?? "";
  return [...section.matchAll(/^\| `([a-z._]+)`\s*\|/gm)].map((match) => match[1] as string);
}

describe("the event catalog and the webhook docs", () => {
  it("documents exactly the events a webhook can receive", () => {
    const documented = documentedEventTypes();
    expect(documented.length).toBeGreaterThan(0);
    expect(documented.sort()).toEqual([...WEBHOOK_EVENT_TYPES, TEST_EVENT_TYPE].sort());
  });
});
