/**
 * Standard Webhooks signing, checked against the reference verifier (the `standardwebhooks`
 * package) and pinned by known-answer vectors so a change of format cannot pass unnoticed.
 */
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import {
  newWebhookSecret,
  parseWebhookSecret,
  signatureFor,
  webhookHeaders,
} from "../../src/webhooks/sign";

const nowSeconds = () => Math.floor(Date.now() / 1000);
const BODY = JSON.stringify({
  type: "alert.threshold",
  data: { accountId: "acct_1", percent: 80 },
});

function verify(secret: string, body: string, headers: Record<string, string>): unknown {
  return new Webhook(secret).verify(body, headers);
}

describe("signatureFor and the Standard Webhooks verifier", () => {
  it("produces headers the reference verifier accepts", async () => {
    const secret = newWebhookSecret();
    const headers = await webhookHeaders(secret, "msg_abc123", nowSeconds(), BODY);
    expect(verify(secret, BODY, { ...headers })).toEqual(JSON.parse(BODY));
  });

  it("fails verification when the body is tampered with", async () => {
    const secret = newWebhookSecret();
    const headers = await webhookHeaders(secret, "msg_abc123", nowSeconds(), BODY);
    const tampered = BODY.replace("80", "81");
    expect(() => verify(secret, tampered, { ...headers })).toThrow(WebhookVerificationError);
  });

  it("fails verification when the id is swapped", async () => {
    const secret = newWebhookSecret();
    const headers = await webhookHeaders(secret, "msg_abc123", nowSeconds(), BODY);
    const swapped = { ...headers, "webhook-id": "msg_other" };
    expect(() => verify(secret, BODY, swapped)).toThrow(WebhookVerificationError);
  });

  it("fails verification when the timestamp is 10 minutes old", async () => {
    const secret = newWebhookSecret();
    const headers = await webhookHeaders(secret, "msg_abc123", nowSeconds() - 600, BODY);
    expect(() => verify(secret, BODY, { ...headers })).toThrow(/too old/);
  });

  it("fails verification when the timestamp header is changed to a fresh one", async () => {
    const secret = newWebhookSecret();
    const headers = await webhookHeaders(secret, "msg_abc123", nowSeconds() - 600, BODY);
    const refreshed = { ...headers, "webhook-timestamp": String(nowSeconds()) };
    expect(() => verify(secret, BODY, refreshed)).toThrow(/No matching signature/);
  });

  it("fails verification with a different secret", async () => {
    const headers = await webhookHeaders(newWebhookSecret(), "msg_abc123", nowSeconds(), BODY);
    expect(() => verify(newWebhookSecret(), BODY, { ...headers })).toThrow(/No matching signature/);
  });

  it("matches the reference library's published vector", async () => {
    // From the standardwebhooks JavaScript library's own test ("sign function works").
    const signature = await signatureFor(
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      1614265330,
      '{"test": 2432232314}',
    );
    expect(signature).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("matches a pinned vector for a 32-byte secret and a JSON body", async () => {
    const secret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const id = "msg_0123456789abcdefghij";
    const timestamp = 1767225600;
    const expected = "v1,M3rjRIzz1iCmtRZp5E/KjzVJ4on3TVAwHjJMTb5U07o=";
    expect(await signatureFor(secret, id, timestamp, BODY)).toBe(expected);
    // The reference implementation agrees on the same inputs.
    expect(new Webhook(secret).sign(id, new Date(timestamp * 1000), BODY)).toBe(expected);
  });

  it("sends the id, the attempt's timestamp in seconds and the JSON content type", async () => {
    const headers = await webhookHeaders(newWebhookSecret(), "msg_x", 1767225600, BODY);
    expect(headers["webhook-id"]).toBe("msg_x");
    expect(headers["webhook-timestamp"]).toBe("1767225600");
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(headers["content-type"]).toBe("application/json");
  });

  it("refuses ids the signed content cannot delimit, bad secrets and bad timestamps", async () => {
    const secret = newWebhookSecret();
    await expect(signatureFor(secret, "msg.1", 1, BODY)).rejects.toThrow(/message id/);
    await expect(signatureFor(secret, "", 1, BODY)).rejects.toThrow(/message id/);
    await expect(signatureFor("whsec_short", "msg_1", 1, BODY)).rejects.toThrow(/secret/);
    await expect(signatureFor(secret, "msg_1", 1.5, BODY)).rejects.toThrow(/timestamp/);
    await expect(signatureFor(secret, "msg_1", -1, BODY)).rejects.toThrow(/timestamp/);
  });
});

describe("webhook secrets", () => {
  it("generates whsec_ secrets of 32 random bytes", () => {
    const a = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(parseWebhookSecret(a)?.length).toBe(32);
    expect(newWebhookSecret()).not.toBe(a);
  });

  const bytes = (n: number) => btoa("k".repeat(n));
  it.each([
    ["24 bytes, the minimum", `whsec_${bytes(24)}`, 24],
    ["64 bytes, the maximum", `whsec_${bytes(64)}`, 64],
    ["23 bytes", `whsec_${bytes(23)}`, null],
    ["65 bytes", `whsec_${bytes(65)}`, null],
    ["no prefix", bytes(32), null],
    ["another prefix", `whsk_${bytes(32)}`, null],
    ["not base64", `whsec_${"!".repeat(44)}`, null],
    ["base64url instead of base64", `whsec_${"-_".repeat(22)}`, null],
    ["missing padding", `whsec_${bytes(32).replace(/=+$/, "")}`, null],
    ["empty", "whsec_", null],
  ])("parses a secret of %s", (_name, secret, length) => {
    expect(parseWebhookSecret(secret)?.length ?? null).toBe(length);
  });
});
