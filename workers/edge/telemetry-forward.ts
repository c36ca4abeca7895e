import { ProblemError } from "@cuecard/core/problem";
import type { ReadKey } from "./prompt-store";

/**
 * The two headers the telemetry worker trusts to say whose data a request is. It is reachable
 * only through the edge's service binding, so they can be trusted once the edge sets them: the
 * edge always overwrites them with what the checked read key says, so a client can never choose
 * the project its events land in.
 */
export const TRUSTED_PROJECT_HEADER = "cuecard-project-id";
export const TRUSTED_KEY_HEADER = "cuecard-key-id";

/**
 * Client headers not passed on: the caller's credentials (the read key was checked here; the
 * telemetry worker must not see or rely on it) and every `Cuecard-*` header, so nothing the
 * client sends can pose as one the edge sets, now or when the contract gains a header.
 */
function forwardedHeader(name: string): boolean {
  return name !== "authorization" && name !== "cookie" && !name.startsWith("cuecard-");
}

/**
 * Sends the request on to the telemetry worker with the body streamed through unchanged (never
 * read or buffered here: size, media type and validation are the ingest's to judge) and returns
 * its answer as is.
 */
export async function forwardToTelemetry(
  service: Fetcher,
  request: Request,
  readKey: ReadKey,
): Promise<Response> {
  const headers = new Headers();
  for (const [name, value] of request.headers) {
    if (forwardedHeader(name)) headers.append(name, value);
  }
  headers.set(TRUSTED_PROJECT_HEADER, readKey.projectId);
  headers.set(TRUSTED_KEY_HEADER, readKey.keyId);
  try {
    return await service.fetch(
      new Request(request.url, { method: request.method, headers, body: request.body }),
    );
  } catch (error) {
    // The binding itself failed (the telemetry worker threw or is being deployed): a retryable
    // 503 rather than a 500, so the SDK's buffer keeps the batch and sends it again.
    console.error("telemetry service binding failed", error);
    throw new ProblemError(
      "unavailable",
      "Telemetry ingest is temporarily unavailable; retry in a few seconds.",
    );
  }
}
