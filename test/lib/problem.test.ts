import { describe, expect, it } from "vitest";
import { Problem, problemResponse } from "../../src/lib/problem";

describe("problem+json", () => {
  it("renders code, status and request id", async () => {
    const res = problemResponse(new Problem("insufficient_credits", "no", { credits: 10 }), "req1");
    expect(res.status).toBe(402);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      code: "insufficient_credits",
      status: 402,
      requestId: "req1",
      credits: 10,
    });
  });
});
