/** Which webhook URLs an account may set: one table row per rule, in production and local dev. */
import { describe, expect, it } from "vitest";
import { checkWebhookUrl } from "../../src/webhooks/url";

const GATEWAY = ["creditgate.example.com", "creditgate.acme.workers.dev"];
const prod = { allowInsecure: false, gatewayHosts: GATEWAY };
const dev = { allowInsecure: true, gatewayHosts: GATEWAY };

type Row = [name: string, url: string, detail: RegExp | null];

describe("checkWebhookUrl in production", () => {
  const rows: Row[] = [
    ["a plain https URL", "https://hooks.example.org/creditgate", null],
    ["a port, a path and a query", "https://hooks.example.org:8443/a/b?x=1&y=2", null],
    ["a public IPv4 literal", "https://203.0.113.7/hook", null],
    ["a public IPv6 literal", "https://[2001:db8::1]/hook", null],
    ["a host that merely contains 'localhost'", "https://localhost.example.org/", null],
    ["a host that merely contains 'internal'", "https://internal.example.org/", null],
    ["http", "http://hooks.example.org/", /https/],
    ["another scheme", "ftp://hooks.example.org/", /https/],
    ["javascript:", "javascript:alert(1)", /https/],
    ["a relative URL", "/v1/hooks", /absolute/],
    ["a host-less string", "hooks.example.org/x", /absolute/],
    ["empty", "", /absolute/],
    ["a user name", "https://user@hooks.example.org/", /credentials/],
    ["a user and password", "https://user:pw@hooks.example.org/", /credentials/],
    ["a fragment", "https://hooks.example.org/#part", /fragment/],
    ["an empty fragment", "https://hooks.example.org/#", /fragment/],
    ["over 2048 characters", `https://hooks.example.org/${"a".repeat(2048)}`, /2048/],
    ["exactly 2048 characters", `https://hooks.example.org/${"a".repeat(2048 - 26)}`, null],
    ["a space", "https://hooks.example.org/a b", /spaces or control/],
    ["a newline", "https://hooks.exa\nmple.org/", /spaces or control/],
    ["a tab", "https://hooks.example.org/\t", /spaces or control/],
    ["the gateway", "https://creditgate.example.com/hook", /gateway/],
    ["the gateway, upper case", "https://CREDITGATE.example.COM/hook", /gateway/],
    ["the gateway with a trailing dot", "https://creditgate.example.com./hook", /gateway/],
    ["the gateway on another port", "https://creditgate.acme.workers.dev:444/", /gateway/],
    ["localhost", "https://localhost/hook", /local/],
    ["localhost with a trailing dot", "https://localhost./hook", /local/],
    ["a .localhost name", "https://api.localhost/hook", /local/],
    ["a .internal name", "https://metadata.google.internal/", /local/],
    ["127.0.0.1", "https://127.0.0.1/", /local/],
    ["elsewhere in 127/8", "https://127.10.20.30/", /local/],
    ["127.0.0.1 in hex", "https://0x7f.0.0.1/", /local/],
    ["127.0.0.1 as one number", "https://2130706433/", /local/],
    ["0.0.0.0", "https://0.0.0.0/", /local/],
    ["10/8", "https://10.1.2.3/", /local/],
    ["172.16/12, low end", "https://172.16.0.1/", /local/],
    ["172.16/12, high end", "https://172.31.255.255/", /local/],
    ["just outside 172.16/12", "https://172.32.0.1/", null],
    ["192.168/16", "https://192.168.1.1/", /local/],
    ["169.254/16 (cloud metadata)", "https://169.254.169.254/latest/meta-data", /local/],
    ["::1", "https://[::1]/", /local/],
    ["::", "https://[::]/", /local/],
    ["fc00::/7 (fd..)", "https://[fd12:3456::1]/", /local/],
    ["fc00::/7 (fc..)", "https://[fc00::1]/", /local/],
    ["fe80::/10", "https://[fe80::1]/", /local/],
    ["fe80::/10, high end", "https://[febf::1]/", /local/],
    ["IPv4-mapped loopback", "https://[::ffff:127.0.0.1]/", /local/],
    ["IPv4-mapped private", "https://[::ffff:10.0.0.1]/", /local/],
    ["IPv4-mapped public", "https://[::ffff:203.0.113.7]/", null],
  ];
  it.each(rows)("%s", (_name, url, detail) => {
    const check = checkWebhookUrl(url, prod);
    if (detail === null) {
      expect(check).toEqual({ ok: true, url: new URL(url).href });
    } else {
      expect(check.ok).toBe(false);
      expect(check.ok ? "" : check.detail).toMatch(detail);
    }
  });
});

describe("checkWebhookUrl in local development", () => {
  const rows: Row[] = [
    ["http to localhost", "http://localhost:8788/hook", null],
    ["http to 127.0.0.1", "http://127.0.0.1:9000/hook", null],
    ["a private address", "http://192.168.1.20/hook", null],
    ["a .localhost name", "http://receiver.localhost/", null],
    ["still not another scheme", "ftp://localhost/", /https/],
    ["still no credentials", "http://u:p@localhost/", /credentials/],
    ["still no fragment", "http://localhost/#x", /fragment/],
    ["still never the gateway", "http://creditgate.example.com/hook", /gateway/],
  ];
  it.each(rows)("%s", (_name, url, detail) => {
    const check = checkWebhookUrl(url, dev);
    if (detail === null) {
      expect(check).toEqual({ ok: true, url: new URL(url).href });
    } else {
      expect(check.ok ? "" : check.detail).toMatch(detail);
    }
  });

  it("refuses the gateway's local host when it is listed", () => {
    const check = checkWebhookUrl("http://localhost:8787/", {
      ...dev,
      gatewayHosts: ["localhost"],
    });
    expect(check.ok).toBe(false);
  });
});

it("returns the normalized URL", () => {
  expect(checkWebhookUrl("HTTPS://Hooks.Example.org:443/a/../b", prod)).toEqual({
    ok: true,
    url: "https://hooks.example.org/b",
  });
});
