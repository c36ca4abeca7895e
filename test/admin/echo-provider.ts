/**
 * A model provider (answered by the test config's outbound service) that refuses every key and,
 * like some real ones, quotes the key it was sent in its error message: what must never reach a
 * page, a log or telemetry.
 */
export const ECHO_PROVIDER = "https://echo-provider.example.com";

export function echoingProvider(request: Request): Response {
  const key = (request.headers.get("authorization") ?? "").replace(/^Bearer /, "");
  return Response.json(
    { error: { message: `Incorrect API key provided: ${key}.`, type: "invalid_request_error" } },
    { status: 401 },
  );
}
