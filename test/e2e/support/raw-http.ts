/**
 * A raw HTTP/1.1 client over node:net for hostile input: it writes exactly the bytes it is given
 * (bare CR or LF, folded lines, conflicting framing, pauses between writes) and parses whatever
 * responses come back, however many, until the server closes or a deadline passes.
 */
import { connect } from "node:net";

/** Bytes to write, or a pause before the next write. */
export type RawStep = string | { pauseMs: number };

export interface RawResponse {
  status: number;
  headers: Array<[name: string, value: string]>;
  body: string;
}

export interface RawExchange {
  responses: RawResponse[];
  /** The server closed (or reset) the connection before the deadline. */
  closedByServer: boolean;
  /** Bytes received after the last complete response (an unparsable or partial answer). */
  trailing: string;
  error: string | null;
}

/** One header of a response, case-insensitively; the first if repeated. */
export function header(response: RawResponse, name: string): string | null {
  const wanted = name.toLowerCase();
  return response.headers.find(([n]) => n.toLowerCase() === wanted)?.[1] ?? null;
}

/** Latin-1 both ways, so one character is one byte and lengths count bytes. */
function encode(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}

function decode(chunks: Uint8Array[]): string {
  let out = "";
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i += 4096) {
      out += String.fromCharCode(...chunk.subarray(i, i + 4096));
    }
  }
  return out;
}

/** Parses one complete response at the start of `text`, or null if it is not all there yet. */
function parseOne(text: string): { response: RawResponse; rest: string } | null {
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const [statusLine = "", ...lines] = text.slice(0, end).split("\r\n");
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!match) return null;
  const status = Number(match[1]);
  const headers: Array<[string, string]> = lines.map((line) => {
    const colon = line.indexOf(":");
    return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
  });
  const response = { status, headers, body: "" };
  let rest = text.slice(end + 4);
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) {
    return { response, rest };
  }
  if (/chunked/i.test(header(response, "transfer-encoding") ?? "")) {
    let body = "";
    for (;;) {
      const lineEnd = rest.indexOf("\r\n");
      if (lineEnd < 0) return null;
      const size = Number.parseInt(rest.slice(0, lineEnd), 16);
      if (!Number.isFinite(size)) return null;
      if (size === 0) {
        const after = rest.slice(lineEnd + 2);
        if (after.startsWith("\r\n"))
          return { response: { ...response, body }, rest: after.slice(2) };
        const trailersEnd = after.indexOf("\r\n\r\n");
        if (trailersEnd < 0) return null;
        return { response: { ...response, body }, rest: after.slice(trailersEnd + 4) };
      }
      if (rest.length < lineEnd + 2 + size + 2) return null;
      body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
      rest = rest.slice(lineEnd + 2 + size + 2);
    }
  }
  const length = header(response, "content-length");
  if (length === null) return null; // delimited by close: taken whole once the server closes
  const n = Number(length);
  if (rest.length < n) return null;
  return { response: { ...response, body: rest.slice(0, n) }, rest: rest.slice(n) };
}

/** Every complete response in `text`; a close-delimited last one is taken when `closed`. */
export function parseResponses(
  text: string,
  closed: boolean,
): { responses: RawResponse[]; trailing: string } {
  const responses: RawResponse[] = [];
  let rest = text;
  for (;;) {
    const one = parseOne(rest);
    if (one) {
      responses.push(one.response);
      rest = one.rest;
      continue;
    }
    const end = rest.indexOf("\r\n\r\n");
    if (closed && end >= 0 && /^HTTP\/1\.[01] \d{3}/.test(rest)) {
      const head = parseOne(
        `${rest.slice(0, end)}\r\ncontent-length: ${rest.length - end - 4}\r\n\r\n${rest.slice(end + 4)}`,
      );
      if (head) {
        responses.push(head.response);
        rest = "";
      }
    }
    return { responses, trailing: rest };
  }
}

export interface ExchangeOptions {
  /** Stop waiting once this many responses have arrived (the server may keep the connection). */
  expectResponses: number;
  /** Longest the whole exchange may take, writes and pauses included. */
  deadlineMs: number;
}

/** Connects to 127.0.0.1:port, writes the steps in order, and collects the responses. */
export function exchange(
  port: number,
  steps: readonly RawStep[],
  options: ExchangeOptions,
): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    const chunks: Uint8Array[] = [];
    let closedByServer = false;
    let error: string | null = null;
    let done = false;
    let writing = true;

    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      socket.destroy();
      const { responses, trailing } = parseResponses(decode(chunks), closedByServer);
      resolve({ responses, closedByServer, trailing, error });
    };
    const deadline = setTimeout(finish, options.deadlineMs);

    socket.on("data", (data: Uint8Array) => {
      chunks.push(data);
      if (writing) return;
      const { responses } = parseResponses(decode(chunks), false);
      if (responses.length >= options.expectResponses) finish();
    });
    socket.on("error", (e: Error) => {
      error = e.message;
    });
    socket.on("close", () => {
      closedByServer = !done;
      finish();
    });
    socket.on("connect", async () => {
      for (const step of steps) {
        if (done) return;
        if (typeof step === "string") socket.write(encode(step));
        else await new Promise((r) => setTimeout(r, step.pauseMs));
      }
      writing = false;
      const { responses } = parseResponses(decode(chunks), false);
      if (responses.length >= options.expectResponses) finish();
    });
  });
}
