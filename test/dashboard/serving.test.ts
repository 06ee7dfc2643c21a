/**
 * The dashboard is served by the worker: the page, its script and styles from the static
 * assets, all under a same-origin CSP; nothing else under /dashboard, and never the proxy.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

const get = (path: string, init?: RequestInit) => SELF.fetch(`https://gw.test${path}`, init);

describe("the dashboard", () => {
  it("serves the page with a strict same-origin CSP and no data in it", async () => {
    const res = await get("/dashboard");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    const html = await res.text();
    expect(html).toContain('src="/dashboard/app.js"');
    expect(html).toContain('href="/dashboard/app.css"');
    expect(html).not.toMatch(/<script>|<style>|cg_/);
  });

  it("serves the bundled script and styles, uPlot included, from the worker's assets", async () => {
    const js = await get("/dashboard/app.js");
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toContain("text/javascript");
    expect(js.headers.get("x-content-type-options")).toBe("nosniff");
    expect((await js.text()).length).toBeGreaterThan(0);
    const css = await get("/dashboard/app.css");
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toContain("text/css");
    expect(await css.text()).toContain(".uplot");
  });

  it("answers problem+json 404 for any other file, without reaching the proxy", async () => {
    for (const path of [
      "/dashboard/index.html",
      "/dashboard/..%2Fwrangler.toml",
      "/dashboard/app.js.map",
    ]) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type"), path).toContain("application/problem+json");
    }
    const post = await get("/dashboard", { method: "POST" });
    expect(post.status).toBeGreaterThanOrEqual(400);
    expect(post.status).toBeLessThan(500);
  });
});
