/** Who may call the management API: the operator's token, or an account key with a role. */
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ledgerClient } from "../ledger/client";
import type { Role } from "../ledger/contract";
import { sha256Hex, timingSafeEqualStrings } from "../lib/hash";
import { bearerToken, parseAccountKey } from "../lib/keys";
import { Problem } from "../lib/problem";
import type { AppEnv } from "./context";

const MANAGEMENT_BODY_LIMIT = 1024 * 1024;

const tooLarge = () =>
  new Problem("payload_too_large", "Management request bodies are limited to 1 MiB.");

const countedBodyLimit: MiddlewareHandler<AppEnv> = bodyLimit({
  maxSize: MANAGEMENT_BODY_LIMIT,
  onError: () => {
    throw tooLarge();
  },
});

/**
 * Bodies over 1 MiB on the management API get 413 before anything reads them. Hono's bodyLimit
 * believes a Content-Length it is given (and skips one it cannot parse), so a declared length
 * only refuses early; the bytes are always counted.
 */
export const managementBodyLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
  const declared = c.req.raw.headers.get("content-length");
  if (declared !== null && Number(declared) > MANAGEMENT_BODY_LIMIT) throw tooLarge();
  if (c.req.raw.body && declared !== null) {
    const headers = new Headers(c.req.raw.headers);
    headers.delete("content-length");
    c.req.raw = new Request(c.req.raw, { headers });
  }
  return countedBodyLimit(c, next);
};

/** Requires `Authorization: Bearer $OPERATOR_TOKEN`. */
export const operatorAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const expected = c.env.OPERATOR_TOKEN;
  const token = bearerToken(c.req.header("authorization"));
  if (
    !expected ||
    !token ||
    !timingSafeEqualStrings(await sha256Hex(token), await sha256Hex(expected))
  ) {
    throw new Problem("unauthorized", "Send the operator token as `Authorization: Bearer ...`.");
  }
  c.get("log").principal = "operator";
  await next();
};

/** Requires an account key whose role is one of `roles`; sets accountId and principal. */
export function accountAuth(...roles: Role[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const key = bearerToken(c.req.header("authorization"));
    const parsed = key ? parseAccountKey(key) : null;
    if (!key || !parsed)
      throw new Problem("invalid_key", "Send an account key as `Authorization: Bearer cg_...`.");
    const ledger = ledgerClient(c.env, parsed.accountId);
    const principal = await ledger.authenticate(await sha256Hex(key));
    if (!principal) throw new Problem("invalid_key", "The API key is unknown or revoked.");
    if (!roles.includes(principal.role)) {
      throw new Problem(
        "forbidden",
        `A ${principal.role} key cannot do this; it needs ${roles.join(" or ")}.`,
      );
    }
    c.set("accountId", parsed.accountId);
    c.set("ledger", ledger);
    c.set("principal", {
      keyId: principal.keyId,
      role: principal.role,
      memberId: principal.memberId,
    });
    c.get("log").account = parsed.accountId;
    c.get("log").principal = principal.role;
    await next();
  };
}
