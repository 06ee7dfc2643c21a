/** Validation failures from zod, turned into one problem+json shape. */
import type { Hook } from "@hono/zod-openapi";
import type { z } from "zod";
import { Problem } from "../lib/problem";
import type { AppEnv } from "./context";

/** A short, safe list of what failed: paths and messages, never the input itself. */
function describeIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.slice(0, 20).map((issue) => ({
    path: issue.path.map(String).join(".") || "(root)",
    message: issue.message.slice(0, 200),
  }));
}

// biome-ignore lint/suspicious/noExplicitAny: the hook is shared by routes of every input shape
export const validationHook: Hook<any, AppEnv, any, any> = (result) => {
  if (!result.success) {
    const issues = describeIssues(result.error);
    throw new Problem(
      "validation_failed",
      `Invalid ${result.target}: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`.slice(
        0,
        500,
      ),
      { issues },
    );
  }
};
