/**
 * Types of the Node APIs the bench uses beyond test/e2e/node.d.ts, which this file extends
 * (ambient module declarations merge), and of the part of autocannon's API it uses (autocannon
 * ships no types). They keep the bench type-checked whether or not @types/node is in the
 * program (see test/e2e/node.d.ts for why the project typed Node by hand); once Node code is
 * type-checked with @types/node alone, keep only the autocannon part.
 */

declare module "node:fs" {
  export interface WriteStream {
    write(chunk: string): boolean;
    end(callback?: () => void): void;
  }
  export function createWriteStream(path: string, options: { flags: "a" | "w" }): WriteStream;
}

declare module "node:os" {
  export function cpus(): unknown[];
  export function loadavg(): [number, number, number];
}

declare module "node:url" {
  export function fileURLToPath(url: string | URL): string;
}

// test/e2e/node.d.ts types the default export `process` with an interface local to its module,
// which cannot be extended from here: the bench imports these as named exports instead (Node
// exports each own property of `process` so), and process.on for signals goes through
// bench/signals.ts.
declare module "node:process" {
  export const argv: string[];
  export const platform: string;
  export const version: string;
  export function exit(code?: number): never;
  /** CPU time of this process in microseconds. */
  export function cpuUsage(): { user: number; system: number };
}

/** Node and workerd both give an ES module its URL. */
interface ImportMeta {
  readonly url: string;
}

declare module "node:http" {
  export class Agent {
    constructor(options: { keepAlive?: boolean; maxSockets?: number });
    destroy(): void;
  }
  export interface IncomingMessage {
    readonly statusCode?: number;
    setEncoding(encoding: "utf8"): this;
    on(event: "data", listener: (chunk: string) => void): this;
    on(event: "end", listener: () => void): this;
  }
  export interface ClientRequest {
    on(event: "timeout", listener: () => void): this;
    on(event: "error", listener: (error: Error) => void): this;
    destroy(error?: Error): this;
    end(body?: string): this;
  }
  export interface RequestOptions {
    method?: string;
    agent?: Agent;
    /** Socket idle timeout in ms: emits "timeout". */
    timeout?: number;
    headers?: Record<string, string | number>;
  }
  export function request(
    url: URL,
    options: RequestOptions,
    callback: (res: IncomingMessage) => void,
  ): ClientRequest;
}

declare module "autocannon" {
  namespace autocannon {
    interface Request {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string;
      /** Called before each request is sent; returns the request to send. */
      setupRequest?: (req: Request) => Request;
      onResponse?: (status: number, body: string) => void;
    }
    interface Options {
      url: string;
      connections: number;
      /** Seconds. */
      duration: number;
      /** Seconds before a request counts as timed out. */
      timeout: number;
      requests: Request[];
    }
    interface Result {
      /** Seconds. */
      duration: number;
      requests: { sent: number; total: number; average: number };
      "2xx": number;
      non2xx: number;
      errors: number;
      timeouts: number;
      statusCodeStats: Record<string, { count: number }>;
    }
    interface Instance {
      stop(): void;
      /** Each answered request: its status, bytes and latency in ms. */
      on(
        event: "response",
        listener: (client: unknown, statusCode: number, resBytes: number, ms: number) => void,
      ): this;
    }
  }
  function autocannon(
    options: autocannon.Options,
    callback: (error: Error | null, result: autocannon.Result) => void,
  ): autocannon.Instance;
  export default autocannon;
}
