import { serveVersion } from "../../workers/edge/prompt-store";
import { published } from "../fixtures";

/**
 * The framework-less floor with a hit's bytes: no router, no key check, no lookup, the same
 * body and headers the edge answers an isolate hit of `small/p-0` with, built once. What workerd
 * and the loopback cost to deliver that answer, so a ratio to it is what the edge's code costs.
 */
let answer: { body: string; headers: Headers } | undefined;

export default {
  async fetch(): Promise<Response> {
    if (!answer) {
      const text = "Hello {{customer}}, thanks for contacting support about {{topic}}.";
      answer = serveVersion(await published("small/p-0", 1, text), "production");
    }
    return new Response(answer.body, { headers: answer.headers });
  },
};
