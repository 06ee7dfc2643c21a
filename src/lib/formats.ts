/**
 * Wire formats that more than one place checks or describes, defined once: the proxy enforces
 * them, the API schemas validate them, the API document shows them.
 */

/** `X-Credit-Purpose` and a team's allowed purposes: 1-64 letters, digits, spaces or ._:/- */
export const PURPOSE = /^[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,63}$/;
export const PURPOSE_HINT = "1-64 letters, digits, spaces or ._:/-";

/** `Idempotency-Key`: 1 to 255 visible ASCII characters. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** What a route parameter accepts in a request path: one unreserved segment of 1..128 characters. */
export const PARAM_VALUE = /^[A-Za-z0-9._~-]{1,128}$/;
