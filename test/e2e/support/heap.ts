/**
 * The heap in use of one worker's V8 isolate, read over workerd's inspector (Chrome DevTools
 * Protocol, `Runtime.getHeapUsage` only; workerd does not offer a forced collection). The figure
 * includes garbage not yet collected, so it is an upper bound of what the isolate holds: the
 * figure a Worker's 128 MB memory limit applies to.
 */
import WebSocket from "ws";

interface Target {
  title?: string;
  webSocketDebuggerUrl: string;
}

export class HeapWatch {
  private next = 0;
  private readonly pending = new Map<number, (result: Record<string, unknown>) => void>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private sampling: Promise<void> | null = null;
  baselineMb = 0;
  peakMb = 0;
  samples = 0;

  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data) => {
      const message = JSON.parse(data.toString()) as {
        id?: number;
        result?: Record<string, unknown>;
      };
      if (message.id !== undefined) this.pending.get(message.id)?.(message.result ?? {});
    });
  }

  /** Attaches to the worker whose inspector title ends with `worker`. */
  static async attach(inspectorPort: number, worker: string): Promise<HeapWatch> {
    const targets = (await (
      await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)
    ).json()) as Target[];
    const target = targets.find((t) => (t.title ?? "").endsWith(worker));
    if (!target) throw new Error(`no inspector target for ${worker}: ${JSON.stringify(targets)}`);
    const socket = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise<void>((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    return new HeapWatch(socket);
  }

  private send(method: string): Promise<Record<string, unknown>> {
    const id = ++this.next;
    return new Promise((resolve) => {
      this.pending.set(id, (result) => {
        this.pending.delete(id);
        resolve(result);
      });
      this.socket.send(JSON.stringify({ id, method }));
    });
  }

  /** Heap in use now, in MiB. */
  async usedMb(): Promise<number> {
    const usage = await this.send("Runtime.getHeapUsage");
    // Array buffers (a response's bytes) live outside the JS heap proper: count them too.
    const bytes = Number(usage.usedSize) + Number(usage.backingStorageSize ?? 0);
    return bytes / 1024 / 1024;
  }

  /** Samples every `intervalMs` until `stop`, keeping the peak. */
  async start(intervalMs: number): Promise<void> {
    this.baselineMb = await this.usedMb();
    this.peakMb = this.baselineMb;
    const loop = async () => {
      this.peakMb = Math.max(this.peakMb, await this.usedMb());
      this.samples += 1;
      if (this.timer !== null) this.timer = setTimeout(() => (this.sampling = loop()), intervalMs);
    };
    this.timer = setTimeout(() => (this.sampling = loop()), intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.sampling;
    this.socket.close();
  }
}
