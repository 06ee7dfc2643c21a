// Augment both interfaces, or runInDurableObject's types break.
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    SIM_SEEDS: string;
    SIM_SEED: string;
    SIM_STEPS: string;
    WEBHOOK_RECEIVER: Fetcher;
  }
}
interface Env {
  TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
  SIM_SEEDS: string;
  SIM_SEED: string;
  SIM_STEPS: string;
  WEBHOOK_RECEIVER: Fetcher;
}
