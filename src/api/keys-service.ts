/** Creating account keys, shared by the operator's bootstrap route and the account's own. */

import { ledgerClient } from "../ledger/client";
import type { Role } from "../ledger/contract";
import { sha256Hex } from "../lib/hash";
import { generateAccountKey, keyPrefix } from "../lib/keys";
import { Problem } from "../lib/problem";

export interface KeyInput {
  role: Role;
  memberId?: string | undefined;
  name?: string | undefined;
}

/** Issues a key; the secret is returned once and only its hash is stored. */
export async function issueKey(env: Env, accountId: string, input: KeyInput) {
  if (input.role === "member" && !input.memberId) {
    throw new Problem("validation_failed", "A member key needs a memberId.", { field: "memberId" });
  }
  if (input.role !== "member" && input.memberId) {
    throw new Problem("validation_failed", `An ${input.role} key is not bound to a member.`, {
      field: "memberId",
    });
  }
  const key = generateAccountKey(accountId);
  const result = await ledgerClient(env, accountId).createKey({
    hash: await sha256Hex(key),
    prefix: keyPrefix(key),
    role: input.role,
    memberId: input.memberId ?? null,
    name: input.name ?? null,
  });
  if (!result.ok) throw Problem.from(result.problem);
  const view = result.value;
  return { id: view.id, key, role: view.role, memberId: view.memberId, name: view.name };
}
