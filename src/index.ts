import { createApp } from "./app";
import { demoCatalog } from "./catalog";

export { AccountLedger } from "./ledger/object";

const app = createApp({ catalog: demoCatalog });

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
