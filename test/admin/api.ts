import { exports } from "cloudflare:workers";

/** Calls the admin worker in-process, as an authenticated admin unless told otherwise. */
export const ADMIN_TOKEN = "test-admin-token";

export async function api(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return exports.default.fetch(`http://admin.test/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export async function json<T = any>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

let counter = 0;
/** A prompt name unique within the test file (storage is shared by the tests of one file). */
export function uniqueName(prefix = "test/prompt"): string {
  counter += 1;
  return `${prefix}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export const enc = encodeURIComponent;

/** Creates a text prompt with a first version and returns its name. */
export async function createTextPrompt(template = "Hello {{customer}}", labels: string[] = []) {
  const name = uniqueName();
  const response = await api("POST", "/projects/default/prompts", {
    name,
    version: { prompt: template, labels, commitMessage: "first" },
  });
  if (response.status !== 201) throw new Error(`create failed: ${await response.text()}`);
  return name;
}

export async function addVersion(name: string, template: string, labels: string[] = []) {
  const response = await api("POST", `/projects/default/prompts/${enc(name)}/versions`, {
    prompt: template,
    labels,
  });
  if (response.status !== 201) throw new Error(`version failed: ${await response.text()}`);
  return json(response);
}
