import { describe, expect, it } from "vitest";
import { z } from "zod";
import { contractEntries, defineProcedure, defineSubscription, subscriptionEntries } from "../src";

describe("defineProcedure", () => {
  const base = { summary: "x", tags: ["t"], rest: { method: "GET", path: "/x" }, input: z.object({}), output: z.object({}) } as const;

  it("refuses org principals without a minimum role", () => {
    expect(() => defineProcedure({ ...base, operationId: "x.a", auth: { accepts: ["member"] } })).toThrow(/minimum role/);
  });
  it("refuses an empty accepts list", () => {
    expect(() => defineProcedure({ ...base, operationId: "x.b", auth: { accepts: [] } })).toThrow(/empty/);
  });
  it("derives query/mutation from the REST method and defaults status and group", () => {
    const d = defineProcedure({ ...base, operationId: "x.c", auth: { accepts: ["user"] } });
    expect(d.kind).toBe("query");
    expect(d.meta.successStatus).toBe(200);
    expect(d.meta.rateLimit).toBe("default");
  });
  it("a procedure that produces a media type is a download, and only on GET", () => {
    expect(defineProcedure({ ...base, operationId: "x.d", auth: { accepts: ["user"] }, produces: "text/csv" }).kind).toBe("download");
    expect(() => defineProcedure({ ...base, rest: { method: "POST", path: "/x" }, operationId: "x.e", auth: { accepts: ["user"] }, produces: "text/csv" })).toThrow(/GET/);
  });
});

describe("defineSubscription", () => {
  const base = { summary: "x", tags: ["t"], input: z.object({}), output: z.object({}) } as const;
  it("checks the access rule like defineProcedure", () => {
    expect(() => defineSubscription({ ...base, operationId: "s.a", auth: { accepts: ["member"] } })).toThrow(/minimum role/);
    expect(() => defineSubscription({ ...base, operationId: "s.b", auth: { accepts: [] } })).toThrow(/empty/);
    expect(defineSubscription({ ...base, operationId: "s.c", auth: { accepts: ["user"] } }).kind).toBe("subscription");
  });
  it("subscriptions are listed apart from the REST operations", () => {
    const subs = subscriptionEntries();
    expect(subs.map(([p]) => p)).toContain("campaigns.progress");
    expect(contractEntries().map(([p]) => p)).not.toContain("campaigns.progress");
    for (const [, d] of subs) expect("rest" in d.meta).toBe(false);
  });
});

describe("the contract", () => {
  it("has unique operationIds and unique method+path pairs", () => {
    const entries = contractEntries();
    const ops = entries.map(([, d]) => d.meta.operationId);
    expect(new Set(ops).size).toBe(ops.length);
    const routes = entries.map(([, d]) => `${d.meta.rest.method} ${d.meta.rest.path}`);
    expect(new Set(routes).size).toBe(routes.length);
  });
  it("declares 201 exactly for POST creations", () => {
    for (const [, d] of contractEntries()) {
      if (d.meta.successStatus === 201) expect(d.meta.rest.method).toBe("POST");
    }
  });
});
