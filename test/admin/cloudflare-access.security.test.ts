import { env, exports } from "cloudflare:workers";
import { importJWK, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { roleForEmail } from "../../workers/modules/access/cloudflare-access";
import { api, createTextPrompt, enc, json } from "./api";

const TEAM = "https://cuecard-test.cloudflareaccess.com";

async function accessToken(
  email: string,
  overrides: { audience?: string; issuer?: string; expiresIn?: string } = {},
) {
  const key = await importJWK(JSON.parse(env.TEST_ACCESS_SIGNING_JWK), "RS256");
  return new SignJWT({ email })
    .setProtectedHeader({ alg: "RS256", kid: "test-key" })
    .setIssuer(overrides.issuer ?? TEAM)
    .setAudience(overrides.audience ?? "test-aud")
    .setIssuedAt()
    .setExpirationTime(overrides.expiresIn ?? "5m")
    .sign(key);
}

function asAccessUser(
  token: string,
  init: RequestInit = {},
  path = "/api/v1/projects/default/prompts",
) {
  return exports.default.fetch(`http://admin.test${path}`, {
    ...init,
    headers: { "cf-access-jwt-assertion": token, ...(init.headers as Record<string, string>) },
  });
}

describe("Cloudflare Access sign-in", () => {
  it("maps emails to roles, first match wins", () => {
    const members = "boss@acme.test=admin, *@acme.test=editor, ops@other.test=publisher";
    expect(roleForEmail(members, "Boss@Acme.test")).toBe("admin");
    expect(roleForEmail(members, "dev@acme.test")).toBe("editor");
    expect(roleForEmail(members, "ops@other.test")).toBe("publisher");
    expect(roleForEmail(members, "x@evil.test")).toBeUndefined();
    expect(roleForEmail("a@b.c=owner", "a@b.c")).toBeUndefined();
  });

  it("accepts a valid token from the team and acts with the mapped role", async () => {
    await createTextPrompt("x");
    const response = await asAccessUser(await accessToken("dev@acme.test"));
    expect(response.status).toBe(200);
    const editorMovesProduction = await asAccessUser(
      await accessToken("dev@acme.test"),
      {
        method: "PUT",
        headers: { "content-type": "application/json", origin: "http://admin.test" },
        body: JSON.stringify({ version: 1 }),
      },
      `/api/v1/projects/default/prompts/${enc(await createTextPrompt("y"))}/labels/production`,
    );
    expect(editorMovesProduction.status).toBe(403);
  });

  it("attributes changes to the Access user", async () => {
    const name = await createTextPrompt("x");
    const response = await asAccessUser(
      await accessToken("boss@acme.test"),
      {
        method: "PUT",
        headers: { "content-type": "application/json", origin: "http://admin.test" },
        body: JSON.stringify({ version: 1 }),
      },
      `/api/v1/projects/default/prompts/${enc(name)}/labels/production`,
    );
    expect(response.status).toBe(200);
    expect((await json(response)).label.updatedBy).toBe("boss@acme.test");
    const audit = await json(
      await api("GET", `/projects/default/audit?actor=${enc("access:boss@acme.test")}`),
    );
    expect(audit.items[0]).toMatchObject({ action: "label.move", actorRole: "admin" });
  });

  it("refuses tokens for another audience or issuer, expired ones, and unknown emails", async () => {
    for (const token of [
      await accessToken("dev@acme.test", { audience: "other-app" }),
      await accessToken("dev@acme.test", { issuer: "https://evil.cloudflareaccess.com" }),
      await accessToken("dev@acme.test", { expiresIn: "-1m" }),
      "not.a.jwt",
    ]) {
      expect((await asAccessUser(token)).status).toBe(401);
    }
    expect((await asAccessUser(await accessToken("stranger@evil.test"))).status).toBe(403);
  });

  it("refuses a cross-site change carrying the Access token", async () => {
    const name = await createTextPrompt("x");
    const response = await asAccessUser(
      await accessToken("boss@acme.test"),
      {
        method: "PUT",
        headers: { "content-type": "application/json", "sec-fetch-site": "cross-site" },
        body: JSON.stringify({ version: 1 }),
      },
      `/api/v1/projects/default/prompts/${enc(name)}/labels/staging`,
    );
    expect(response.status).toBe(403);
  });
});
