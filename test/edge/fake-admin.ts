/**
 * A stand-in for the `cuecard-admin` worker, bound to the edge under test as its ADMIN service
 * (test/edge/vitest.config.ts): it answers with what it received (method, URL, the credentials
 * and the body), so the tests can check the edge hands Langfuse's prompt writes on unchanged. The
 * writes themselves are the admin worker's and are tested there (test/admin/langfuse-*.test.ts).
 */
export async function fakeAdmin(request: Request): Promise<Response> {
  return Response.json(
    {
      method: request.method,
      url: request.url,
      authorization: request.headers.get("authorization"),
      body: await request.text(),
    },
    { status: 201, headers: { "admin-answer": "forwarded" } },
  );
}
