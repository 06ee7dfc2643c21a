/**
 * The slice of Node's API the end-to-end tests use, typed as @types/node types it.
 *
 * The project type-checks in one program with the Workers runtime types
 * (worker-configuration.d.ts), whose globals (fetch, Request, setTimeout...) clash with
 * @types/node's, and @types/node is not installed. The e2e code runs in Node but needs only these
 * modules, and the Workers globals it also uses (fetch, AbortSignal, URLSearchParams) behave the
 * same in Node. With @types/node added and a tsconfig of its own for test/e2e, delete this file.
 */

declare module "node:child_process" {
  export interface ChildProcess {
    readonly pid: number | undefined;
    readonly exitCode: number | null;
    readonly signalCode: string | null;
    kill(signal?: "SIGTERM" | "SIGKILL"): boolean;
    once(event: "exit", listener: (code: number | null, signal: string | null) => void): this;
  }
  export interface SpawnOptions {
    cwd?: string;
    env?: Record<string, string>;
    stdio?: Array<"ignore" | "inherit" | number>;
    detached?: boolean;
  }
  export function spawn(
    command: string,
    args: readonly string[],
    options: SpawnOptions,
  ): ChildProcess;
}

declare module "node:fs" {
  export function mkdtempSync(prefix: string): string;
  export function mkdirSync(path: string, options: { recursive: true }): string | undefined;
  export function readdirSync(path: string): string[];
  export function readFileSync(path: string, encoding: "utf8"): string;
  export function writeFileSync(path: string, data: string): void;
  export function rmSync(path: string, options: { recursive?: boolean; force?: boolean }): void;
  export function openSync(path: string, flags: "a" | "r" | "w"): number;
  export function closeSync(fd: number): void;
}

declare module "node:os" {
  export function tmpdir(): string;
}

declare module "node:path" {
  interface Path {
    join(...paths: string[]): string;
    resolve(...paths: string[]): string;
    dirname(path: string): string;
  }
  const path: Path;
  export default path;
}

declare module "node:process" {
  interface Process {
    readonly pid: number;
    readonly execPath: string;
    readonly env: Record<string, string | undefined>;
    /** Sends a signal; a negative pid signals a process group. Throws if none is left. */
    kill(pid: number, signal?: "SIGTERM" | "SIGKILL" | 0): true;
    on(event: "exit", listener: (code: number) => void): Process;
  }
  const process: Process;
  export default process;
}

declare module "node:net" {
  export interface AddressInfo {
    address: string;
    family: string;
    port: number;
  }
  export interface Server {
    on(event: "error", listener: (error: Error) => void): this;
    listen(port: number, host: string, listener: () => void): this;
    address(): AddressInfo | string | null;
    close(callback?: (error?: Error) => void): this;
  }
  export interface Socket {
    write(data: Uint8Array): boolean;
    destroy(): this;
    on(event: "data", listener: (data: Uint8Array) => void): this;
    on(event: "error", listener: (error: Error) => void): this;
    on(event: "connect" | "close", listener: () => void): this;
  }
  export function createServer(): Server;
  export function connect(options: { host: string; port: number }): Socket;
}

declare module "ws" {
  export default class WebSocket {
    constructor(url: string);
    once(event: "open", listener: () => void): this;
    once(event: "error", listener: (error: Error) => void): this;
    on(event: "message", listener: (data: { toString(): string }) => void): this;
    send(data: string): void;
    close(): void;
  }
}
