import { exports } from "cloudflare:workers";

/** The deployment's bootstrap token in tests (see vitest.config.ts). */
export const BOOTSTRAP_TOKEN = "test-admin-token";

let firstAdminKey: Promise<string> | undefined;

/** The `default` project's first admin key, made with the bootstrap token once per test file. */
export function adminKey(): Promise<string> {
  firstAdminKey ??= (async () => {
    const response = await exports.default.fetch("http://admin.test/api/v1/bootstrap", {
      method: "POST",
      headers: { authorization: `Bearer ${BOOTSTRAP_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ project: "default", keyName: "test admin" }),
    });
    if (response.status !== 201) throw new Error(`bootstrap failed: ${await response.text()}`);
    return ((await response.json()) as { secret: string }).secret;
  })();
  return firstAdminKey;
}

/** A new key of `role` in `project` (default: `default`), made by that project's admin. */
export async function keyFor(
  role: string,
  project = "default",
  adminSecret?: string,
): Promise<string> {
  const response = await exports.default.fetch(
    `http://admin.test/api/v1/projects/${project}/keys`,
    {
      method: "POST",
      headers: {
        authorization: `Bearer ${adminSecret ?? (await adminKey())}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ name: `${role} key`, role }),
    },
  );
  if (response.status !== 201) throw new Error(`key creation failed: ${await response.text()}`);
  return ((await response.json()) as { secret: string }).secret;
}

/** Calls the admin worker in-process, as the project's admin unless `headers` says otherwise. */
export async function api(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return exports.default.fetch(`http://admin.test/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${await adminKey()}`,
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

const UI_ORIGIN = "http://admin.test";

/**
 * A signed-in browser, as the admin UI's pages see it: a session cookie for a key of `role`, GETs
 * with it, and form posts with its CSRF token and origin (redirects not followed).
 */
export async function uiSession(role = "admin") {
  const response = await exports.default.fetch(`${UI_ORIGIN}/api/v1/session`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: UI_ORIGIN },
    body: JSON.stringify({ key: await keyFor(role) }),
  });
  const { csrfToken } = await json(response);
  const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  return {
    get: (path: string) => exports.default.fetch(`${UI_ORIGIN}${path}`, { headers: { cookie } }),
    post: (path: string, form: Record<string, string>) =>
      exports.default.fetch(`${UI_ORIGIN}${path}`, {
        method: "POST",
        redirect: "manual",
        headers: {
          cookie,
          origin: UI_ORIGIN,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ _csrf: csrfToken, ...form }).toString(),
      }),
  };
}
