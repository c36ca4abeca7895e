import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import {
  generateSigningSecret,
  isSigningSecret,
  signedHeaders,
  signMessage,
} from "../../workers/modules/webhooks/signer";

// The test vector published with the Standard Webhooks specification.
const SPEC = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1614265330,
  payload: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};

describe("Standard Webhooks signing", () => {
  it("reproduces the specification's published test vector", async () => {
    expect(await signMessage(SPEC.secret, SPEC.id, SPEC.timestamp, SPEC.payload)).toBe(
      SPEC.signature,
    );
  });

  it("headers we sign are accepted by the standardwebhooks library, and a changed body is not", async () => {
    const secret = generateSigningSecret();
    const body = JSON.stringify({ type: "prompt.label.moved", data: { toVersion: 3 } });
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = await signedHeaders([secret], "msg_abc", timestamp, body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(body.replace("3", "4"), headers)).toThrow();
    expect(() => new Webhook(generateSigningSecret()).verify(body, headers)).toThrow();
  });

  it("during a rotation both the new and the previous secret verify the same delivery", async () => {
    const [current, previous] = [generateSigningSecret(), generateSigningSecret()];
    const body = '{"type":"webhook.test"}';
    const headers = await signedHeaders(
      [current, previous],
      "msg_rot",
      Math.floor(Date.now() / 1000),
      body,
    );
    expect(headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    expect(() => new Webhook(current).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(previous).verify(body, headers)).not.toThrow();
  });

  it("new secrets are whsec_ with 24 random bytes, and differ every time", () => {
    const a = generateSigningSecret();
    expect(isSigningSecret(a)).toBe(true);
    expect(a).not.toBe(generateSigningSecret());
    expect(isSigningSecret("whsec_short")).toBe(false);
  });
});
