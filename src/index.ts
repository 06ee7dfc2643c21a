import { DurableObject } from "cloudflare:workers";

export class AccountLedger extends DurableObject<Env> {}

export default {
  async fetch(): Promise<Response> {
    return new Response("creditgate");
  },
} satisfies ExportedHandler<Env>;
