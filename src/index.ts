import { createApp } from "./app";
import { bundledCatalog } from "./catalog";
import { settingsOf } from "./lib/settings";
import { scheduledArchive } from "./usage/archive-runs";

export { AccountLedger } from "./ledger/object";

const app = createApp({ catalog: bundledCatalog });

export default {
  fetch: app.fetch,
  /** The Cron Trigger: moves a slice of the usage backlog older than the hot window to R2. */
  scheduled(controller, env, ctx) {
    ctx.waitUntil(
      scheduledArchive(
        env.DB,
        env.USAGE_ARCHIVE ?? null,
        settingsOf(env),
        new Date(controller.scheduledTime),
      ),
    );
  },
} satisfies ExportedHandler<Env>;
