/**
 * The environment for a child process that Node code starts (wrangler, workerd, the Redocly CLI,
 * the bench's servers): this process's own, plus `extra`.
 *
 * One cast, here: worker-configuration.d.ts (from `wrangler types`) types `process.env` for the
 * worker's code under nodejs_compat, which makes the Worker's own vars required keys of
 * NodeJS.ProcessEnv. A child process's environment is plain strings and needs none of them.
 */
import process from "node:process";

export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra } as NodeJS.ProcessEnv;
}
