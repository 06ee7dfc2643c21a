/** The menu of operations and how often each is drawn; one draw per step. */
import { freshCall, otherBody, race, retry, windowEdge } from "./calls";
import {
  addGrant,
  changeMember,
  changePolicy,
  changeRules,
  newKey,
  readBalance,
  revokeKey,
} from "./changes";
import { add, type Outcome, type Sim } from "./driver";
import {
  alarm,
  alarmTwice,
  evict,
  flush,
  lostAck,
  passDays,
  passHoldTtl,
  passTime,
  rollPeriod,
  toggleD1,
} from "./faults";
import { lateSettle, orphan } from "./orphans";

const OPERATIONS = {
  call: { weight: 40, run: freshCall },
  retry: { weight: 7, run: retry },
  other_body: { weight: 3, run: otherBody },
  race: { weight: 2.5, run: race },
  window_edge: { weight: 1.5, run: windowEdge },
  orphan: { weight: 4, run: orphan },
  late_settle: { weight: 2, run: lateSettle },
  rules: { weight: 4, run: changeRules },
  member: { weight: 4, run: changeMember },
  policy: { weight: 3, run: changePolicy },
  grant: { weight: 3, run: addGrant },
  revoke_key: { weight: 2, run: revokeKey },
  new_key: { weight: 2, run: newKey },
  balance: { weight: 2, run: readBalance },
  time: { weight: 5, run: passTime },
  hold_ttl: { weight: 3, run: passHoldTtl },
  days: { weight: 2, run: passDays },
  period_roll: { weight: 1.5, run: rollPeriod },
  alarm: { weight: 3, run: alarm },
  alarm_twice: { weight: 1, run: alarmTwice },
  flush: { weight: 2, run: flush },
  d1_toggle: { weight: 1.5, run: toggleD1 },
  lost_ack: { weight: 1, run: lostAck },
  evict: { weight: 2.5, run: evict },
} satisfies Record<string, { weight: number; run: (sim: Sim) => Outcome | Promise<Outcome> }>;

type Kind = keyof typeof OPERATIONS;

const WEIGHTS = Object.fromEntries(
  Object.entries(OPERATIONS).map(([k, v]) => [k, v.weight]),
) as Record<Kind, number>;

/** Operations that need something to act on fall back to a plain call when there is nothing. */
function feasible(sim: Sim, kind: Kind): Kind {
  if ((kind === "retry" || kind === "other_body") && sim.idemPool.length === 0) return "call";
  if (kind === "late_settle" && sim.orphans.length === 0) return "orphan";
  if (kind === "lost_ack" && sim.d1Down) return "flush";
  return kind;
}

/** Draws and runs the next operation. */
export async function nextOperation(sim: Sim): Promise<Outcome> {
  const kind = feasible(sim, sim.rng.weighted(WEIGHTS));
  add(sim.ops, kind);
  return OPERATIONS[kind].run(sim);
}
