// Secrets are not in wrangler.toml, so `wrangler types` cannot see them: declare them here.
// Locally they come from .dev.vars; in production from `wrangler secret put`.
declare namespace Cloudflare {
  interface Env {
    /** Bearer token of the platform operator for /admin/v1. */
    OPERATOR_TOKEN: string;
    /** Credential the gateway injects when it forwards to the demo upstream. */
    DEMO_UPSTREAM_TOKEN: string;
    /** "true" lets the operator lay a demo account's history (npm start sets it); else unset. */
    DEMO_HISTORY?: string;
    /** "true" lets account webhooks use http and local addresses (local development only). */
    WEBHOOK_ALLOW_INSECURE?: string;
    /** "true" meters each ledger object's requests, SQL rows and D1 rows (the bench); else unset. */
    LEDGER_METER?: string;
  }
}

/** The configuration file selected at build time (see src/config/bundled.ts). */
declare module "creditgate:config" {
  const value: unknown;
  export default value;
}
