import { PROJECT_MAX } from "@cuecard/core/limits";
import { PROJECT_PATTERN } from "@cuecard/core/names";
import { TELEMETRY_NAME_MAX } from "@cuecard/core/telemetry";
import { z } from "zod";

/**
 * The internal metrics routes' path parameters. Events are checked by event-rules.ts (not zod:
 * ingest is the hot path).
 */
export const projectId = z
  .string()
  .min(1)
  .max(PROJECT_MAX)
  .regex(PROJECT_PATTERN, "use only a-z, 0-9 and '-'");
export const experimentId = z
  .string()
  .min(1, "must not be empty")
  .max(TELEMETRY_NAME_MAX, `must be at most ${TELEMETRY_NAME_MAX} characters`);
