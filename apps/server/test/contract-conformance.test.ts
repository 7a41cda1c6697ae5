import { type ProcedureDef, type SubscriptionDef, contract, contractEntries, isPublic, subscriptionEntries } from "@reachbell/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRouter } from "../src/routers";
import { type TestServer, call, startServer } from "./support";

interface ProcDef {
  type: "query" | "mutation" | "subscription";
  meta?: { contract?: ProcedureDef | SubscriptionDef; openapi?: { method: string; path: string; protect?: boolean; operationId?: string } };
  inputs: unknown[];
}

/** The router's procedures, flattened as tRPC keeps them: `"organizations.get" → _def`. */
const procedures = (): [string, ProcDef][] =>
  Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: ProcDef }>).map(([path, p]) => [path, p._def]);

/** trpc-to-openapi's matcher: `{param}` is one non-empty segment, case-insensitive, whole path. */
const pathRegExp = (path: string) => new RegExp(`^${path.replace(/\{(.+?)\}/g, "[^/]+")}$`, "i");

/** Contract entries tRPC implements: every one but downloads (streamed by Express handlers, see http/campaign-export.ts). */
const routerEntries = (): [string, ProcedureDef | SubscriptionDef][] => [...contractEntries().filter(([, d]) => d.kind !== "download"), ...subscriptionEntries()];

/** A concrete URL path for a route, with each parameter filled by a value no static segment uses. */
const concrete = (path: string) => path.replace(/\{(.+?)\}/g, (_, name: string) => `probe_${name}_01J0000000000000000000000`);

/**
 * trpc-to-openapi tries the routes of one method in the router's declaration order and takes the
 * first match. A route is shadowed when a concrete URL for it is matched by another route first.
 */
function shadowed(routes: { name: string; method: string; path: string }[]): string[] {
  const problems: string[] = [];
  for (const route of routes) {
    const url = concrete(route.path);
    const winner = routes.find((r) => r.method === route.method && pathRegExp(r.path).test(url));
    if (winner?.name !== route.name) problems.push(`${route.method} ${route.path} (${route.name}) is reached by ${winner?.name} (${winner?.path}) first`);
  }
  return problems;
}

describe("contract conformance", () => {
  it("every contract entry is implemented exactly once, at its own path, with its own input schema", () => {
    const procs = procedures();
    for (const [path, def] of contractEntries()) {
      const impls = procs.filter(([, p]) => p.meta?.contract === def);
      if (def.kind === "download") {
        // Served by its Express handler behind the same guard (the mounted-routes test below calls it).
        expect(impls, `${path}: a download is not a tRPC procedure`).toEqual([]);
        expect(def.meta.rest.method, path).toBe("GET");
        continue;
      }
      expect(impls.map(([p]) => p), `${path} implementations`).toEqual([path]);
      const [, proc] = impls[0]!;
      expect(proc.inputs, `${path}: the router validates with the contract's zod object itself`).toContain(def.input);
      expect(proc.type, `${path}: query/mutation`).toBe(def.kind);
      expect(proc.meta?.openapi?.method, path).toBe(def.meta.rest.method);
      expect(proc.meta?.openapi?.path, path).toBe(def.meta.rest.path);
      expect(proc.meta?.openapi?.operationId, path).toBe(def.meta.operationId);
      expect(proc.meta?.openapi?.protect, `${path}: protect follows auth`).toBe(!isPublic(def.meta.auth));
    }
  });

  it("every contract subscription is implemented exactly once, as a subscription without a REST route", () => {
    const procs = procedures();
    expect(subscriptionEntries().length).toBeGreaterThan(0);
    for (const [path, def] of subscriptionEntries()) {
      const impls = procs.filter(([, p]) => p.meta?.contract === def);
      expect(impls.map(([p]) => p), `${path} implementations`).toEqual([path]);
      const [, proc] = impls[0]!;
      expect(proc.type, path).toBe("subscription");
      expect(proc.inputs, path).toContain(def.input);
      expect(proc.meta?.openapi, `${path}: no REST route`).toBeUndefined();
      expect(isPublic(def.meta.auth), `${path}: subscriptions are authenticated`).toBe(false);
    }
  });

  it("no router procedure lacks a contract entry", () => {
    const entries = new Map(routerEntries());
    for (const [path, proc] of procedures()) {
      expect(proc.meta?.contract, `${path} has no contract metadata`).toBeDefined();
      expect(entries.get(path), `${path} is not in the contract under the same name`).toBe(proc.meta?.contract);
    }
    expect(procedures().length).toBe(routerEntries().length);
  });

  it("the contract mirrors the router one to one by namespace", () => {
    const namespaces = new Set(procedures().map(([p]) => p.split(".")[0]));
    expect([...namespaces].sort()).toEqual(Object.keys(contract).sort());
  });

  it("operation ids and REST routes are unique", () => {
    const entries = contractEntries();
    const ids = [...entries, ...subscriptionEntries()].map(([, d]) => d.meta.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const routes = entries.map(([, d]) => `${d.meta.rest.method} ${d.meta.rest.path.replace(/\{.+?\}/g, "{}").toLowerCase()}`);
    expect(new Set(routes).size, `duplicate routes: ${routes.filter((r, i) => routes.indexOf(r) !== i).join(", ")}`).toBe(routes.length);
  });

  it("the shadowing check itself catches a static route declared after a parameterised one", () => {
    const bad = [
      { name: "subscribers.get", method: "GET", path: "/subscribers/{id}" },
      { name: "subscribers.identify", method: "GET", path: "/subscribers/identify" },
      { name: "subscribers.register", method: "POST", path: "/subscribers" },
    ];
    expect(shadowed(bad)).toHaveLength(1);
    expect(shadowed([bad[1]!, bad[0]!, bad[2]!])).toEqual([]);
    // Same path, different methods: no conflict. Same path twice: the second is unreachable.
    expect(shadowed([{ name: "a", method: "GET", path: "/x/{id}" }, { name: "b", method: "DELETE", path: "/x/{id}" }])).toEqual([]);
    expect(shadowed([{ name: "a", method: "GET", path: "/x/{id}" }, { name: "b", method: "GET", path: "/x/{key}" }])).toHaveLength(1);
  });

  it("no REST route is shadowed by an earlier-declared route (first-declared-wins matching)", () => {
    // Downloads are answered by their handler before the REST middleware: they match first.
    const downloads = contractEntries()
      .filter(([, d]) => d.kind === "download")
      .map(([name, d]) => ({ name, method: d.meta.rest.method, path: d.meta.rest.path }));
    const routes = procedures()
      .filter(([, p]) => p.meta?.openapi)
      .map(([name, p]) => ({ name, method: p.meta!.openapi!.method, path: p.meta!.openapi!.path }));
    expect(downloads.length + routes.length).toBe(contractEntries().length);
    expect(shadowed([...downloads, ...routes])).toEqual([]);
  });
});

describe("every REST route is mounted", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer("sqlite");
  });
  afterAll(() => server?.close());

  it("each contract route answers from its procedure, not 404 Route not found", async () => {
    for (const [name, def] of contractEntries()) {
      const { method, path } = def.meta.rest;
      const res = await call(server, method, concrete(path), method === "GET" || method === "DELETE" ? {} : { body: {} });
      // Without credentials a protected route says 401; a public one validates its (empty) body.
      const expected = isPublic(def.meta.auth) ? 422 : 401;
      expect(res.status, `${name}: ${method} ${path} → ${JSON.stringify(res.body)}`).toBe(expected);
    }
  });
});
