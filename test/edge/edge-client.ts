import { exports } from "cloudflare:workers";

/** Requests to the edge worker under test, as an application would send them. */
export function edgeFetch(
  path: string,
  options: { key?: string; headers?: Record<string, string>; method?: string; body?: string } = {},
): Promise<Response> {
  const headers = new Headers(options.headers);
  if (options.key !== undefined) headers.set("authorization", `Bearer ${options.key}`);
  return exports.default.fetch(
    new Request(`https://edge.test${path}`, {
      method: options.method ?? "GET",
      headers,
      body: options.body,
    }),
  );
}

export function renderRequest(
  path: string,
  key: string,
  body: unknown,
  contentType = "application/json",
): Promise<Response> {
  return edgeFetch(path, {
    key,
    method: "POST",
    headers: { "content-type": contentType },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Reads a problem+json body and checks the envelope every error must have. */
export async function problemOf(response: Response) {
  if (response.headers.get("content-type") !== "application/problem+json") {
    throw new Error(`expected problem+json, got ${response.headers.get("content-type")}`);
  }
  const body = (await response.json()) as {
    type: string;
    title: string;
    status: number;
    detail: string;
    code: string;
    requestId: string;
    errors?: { field: string; message: string }[];
    missing?: string[];
    unknown?: string[];
  };
  if (body.status !== response.status || !body.requestId || !body.code || !body.detail) {
    throw new Error(`incomplete problem: ${JSON.stringify(body)}`);
  }
  if (JSON.stringify(body).includes("    at ")) throw new Error("stack trace in a problem body");
  return body;
}
