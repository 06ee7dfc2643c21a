import { createApp } from "./app";
import { bundledCatalog } from "./catalog";

export { AccountLedger } from "./ledger/object";

const app = createApp({ catalog: bundledCatalog });

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
