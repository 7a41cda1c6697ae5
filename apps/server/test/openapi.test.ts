import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { type PrincipalKind, contractEntries, isPublic } from "@reachbell/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestServer, call, describeEachDb, startServer } from "./support";

const SNAPSHOT = fileURLToPath(new URL("./__snapshots__/openapi.snap.json", import.meta.url));
const UPDATE = process.env.UPDATE_OPENAPI_SNAPSHOT === "1";

/**
 * Which security scheme each kind of principal authenticates with (SPEC §2): the dashboard JWT,
 * the project API key, and the partner's two token kinds (signed with the partner's secret).
 */
const SCHEME: Record<PrincipalKind, string> = {
  user: "bearerAuth",
  member: "bearerAuth",
  apiKey: "apiKeyAuth",
  partner: "partnerJwt",
  partnerTenant: "partnerJwt",
  tenant: "tenantJwt",
};

const operationOf = (doc: any, method: string, path: string) => doc.paths?.[path]?.[method.toLowerCase()];

/** The JSON paths where two documents differ (added, removed or changed), for a readable drift report. */
function diffPaths(before: unknown, after: unknown, at = "", out: string[] = []): string[] {
  if (out.length >= 40) return out;
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
  if (isObj(before) && isObj(after) && Array.isArray(before) === Array.isArray(after)) {
    for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
      const p = `${at}/${k.replace(/~/g, "~0").replace(/\//g, "~1")}`;
      if (!(k in before)) out.push(`+ ${p}`);
      else if (!(k in after)) out.push(`- ${p}`);
      else diffPaths(before[k], after[k], p, out);
    }
  } else if (JSON.stringify(before) !== JSON.stringify(after)) {
    out.push(`~ ${at || "/"}: ${JSON.stringify(before)?.slice(0, 80)} → ${JSON.stringify(after)?.slice(0, 80)}`);
  }
  return out;
}

describe("OpenAPI document", () => {
  let server: TestServer;
  let doc: any;
  beforeAll(async () => {
    server = await startServer("sqlite");
    const res = await call(server, "GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    doc = res.body;
  });
  afterAll(() => server?.close());

  it("is OpenAPI 3.1 and served without authentication", () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toBe("ReachBell API");
    expect(typeof doc.info.version).toBe("string");
  });

  it("documents every contract entry exactly once, and nothing else", () => {
    const ops: string[] = [];
    for (const [path, methods] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(methods)) ops.push(`${method.toUpperCase()} ${path} ${op.operationId}`);
    }
    const expected = contractEntries().map(([, def]) => `${def.meta.rest.method} ${def.meta.rest.path} ${def.meta.operationId}`);
    expect(ops.sort()).toEqual(expected.sort());
    const ids = ops.map((o) => o.split(" ")[2]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("declares the bearer and x-api-key security schemes", () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.components.securitySchemes.apiKeyAuth).toMatchObject({ type: "apiKey", in: "header", name: "x-api-key" });
    // Every scheme an operation may list is declared.
    for (const scheme of new Set(Object.values(SCHEME))) expect(doc.components.securitySchemes[scheme], scheme).toBeDefined();
  });

  it("every operation lists exactly the security schemes its contract entry accepts", () => {
    for (const [name, def] of contractEntries()) {
      const op = operationOf(doc, def.meta.rest.method, def.meta.rest.path);
      expect(op, name).toBeDefined();
      expect(Array.isArray(op.security), `${name}: security must be explicit`).toBe(true);
      if (isPublic(def.meta.auth)) {
        expect(op.security, `${name} is public`).toEqual([]);
        continue;
      }
      const expected = [...new Set(def.meta.auth.accepts.map((k) => SCHEME[k]))].sort();
      // Alternatives: each requirement object names one scheme with no scopes.
      for (const req of op.security) {
        expect(Object.keys(req), name).toHaveLength(1);
        expect(Object.values(req)[0], name).toEqual([]);
      }
      const listed = op.security.map((req: Record<string, unknown>) => Object.keys(req)[0]).sort();
      expect(listed, name).toEqual(expected);
      for (const scheme of listed) expect(doc.components.securitySchemes[scheme], `${name}: ${scheme} is declared`).toBeDefined();
    }
  });

  it("documents creations as 201 and everything else as 200, with the output schema", () => {
    for (const [name, def] of contractEntries()) {
      const op = operationOf(doc, def.meta.rest.method, def.meta.rest.path);
      const success = Object.keys(op.responses).filter((s) => s.startsWith("2"));
      expect(success, name).toEqual([String(def.meta.successStatus)]);
      // A download's body is in the media type it produces (CSV), every other one is JSON.
      expect(op.responses[String(def.meta.successStatus)].content[def.meta.produces ?? "application/json"].schema, name).toBeDefined();
    }
    expect(operationOf(doc, "POST", "/auth/register").responses["201"]).toBeDefined();
    expect(operationOf(doc, "POST", "/organizations").responses["201"]).toBeDefined();
    expect(operationOf(doc, "POST", "/organizations/{orgId}/members").responses["201"]).toBeDefined();
  });

  it("every error response is the ErrorEnvelope, and the usual ones are listed", () => {
    const envelope = doc.components.schemas.ErrorEnvelope;
    expect(envelope.type).toBe("object");
    expect([...envelope.required].sort()).toEqual(["message", "requestId", "statusCode"]);
    expect(envelope.properties.errors.items.required.sort()).toEqual(["message", "path"]);
    for (const [name, def] of contractEntries()) {
      const op = operationOf(doc, def.meta.rest.method, def.meta.rest.path);
      const errors = Object.keys(op.responses).filter((s) => /^[45]/.test(s));
      for (const status of errors) {
        const schema = op.responses[status].content["application/json"].schema;
        // The envelope, or (409 of POST /subscribers) the envelope plus a field: tested below.
        if (schema.allOf) expect(schema.allOf[0], `${name} ${status}`).toEqual({ $ref: "#/components/schemas/ErrorEnvelope" });
        else expect(schema, `${name} ${status}`).toEqual({ $ref: "#/components/schemas/ErrorEnvelope" });
        expect(typeof op.responses[status].description).toBe("string");
      }
      expect(errors, name).toEqual(expect.arrayContaining(["422", "500"]));
      if (!isPublic(def.meta.auth)) expect(errors, name).toEqual(expect.arrayContaining(["401", "403"]));
      if (def.meta.rest.method !== "GET" && def.meta.rest.method !== "DELETE") expect(errors, name).toEqual(expect.arrayContaining(["400", "413", "415"]));
      if (def.meta.rest.path.includes("{")) expect(errors, name).toContain("404");
    }
  });

  it("every response documents the request id and RateLimit-* headers, and 429 and 503 their Retry-After", () => {
    const headers = doc.components.headers;
    for (const h of ["X-Request-Id", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"]) expect(headers[h], h).toBeDefined();
    for (const [name, def] of contractEntries()) {
      const op = operationOf(doc, def.meta.rest.method, def.meta.rest.path);
      expect(op.responses["429"], name).toBeDefined();
      expect(op.responses["503"], name).toBeDefined();
      expect(op.responses["400"], name).toBeDefined();
      for (const [status, res] of Object.entries<any>(op.responses)) {
        const names = Object.keys(res.headers ?? {}).sort();
        const expected = [
          "RateLimit-Limit",
          "RateLimit-Remaining",
          "RateLimit-Reset",
          "X-Request-Id",
          ...(status === "429" || status === "503" ? ["Retry-After"] : []),
          ...(def.kind === "download" && status.startsWith("2") ? ["Content-Disposition"] : []),
        ].sort();
        expect(names, `${name} ${status}`).toEqual(expected);
        for (const h of names) expect(headers[res.headers[h].$ref.replace("#/components/headers/", "")], `${name} ${status} ${h}`).toBeDefined();
      }
    }
  });

  it("documents every path parameter, and x-org-id exactly where the organization comes from that header", () => {
    for (const [name, def] of contractEntries()) {
      const op = operationOf(doc, def.meta.rest.method, def.meta.rest.path);
      const params: any[] = op.parameters ?? [];
      for (const [, p] of def.meta.rest.path.matchAll(/\{(\w+)\}/g)) {
        expect(params.find((x) => x.in === "path" && x.name === p), `${name}: path parameter ${p}`).toMatchObject({ required: true });
      }
      const rule = def.meta.auth;
      const readsHeader = !isPublic(rule) && rule.accepts.includes("member") && rule.orgFrom !== "input";
      const header = params.find((x) => x.in === "header" && x.name === "x-org-id");
      expect(Boolean(header), `${name}: x-org-id documented`).toBe(readsHeader);
      if (!header || isPublic(rule)) continue;
      // Required exactly when a dashboard JWT is the only way in; otherwise optional, saying when it is required.
      const onlyDashboard = rule.accepts.every((k) => k === "member");
      expect(header.required, `${name}: x-org-id required`).toBe(onlyDashboard);
      expect(header.description, name).toMatch(onlyDashboard ? /^The organization to act in .*Required/ : /^Required with a dashboard JWT \(Authorization: Bearer\)/);
      if (rule.accepts.includes("tenant")) expect(header.description, name).toContain("Not used with");
    }
  });

  it("POST /transactional/send takes exactly one of externalId or token (oneOf), and pre-fills a valid example", () => {
    const op = operationOf(doc, "POST", "/transactional/send");
    const schema = op.requestBody.content["application/json"].schema;
    expect(schema.properties).toBeUndefined();
    expect(schema.oneOf).toHaveLength(2);
    const [byExternalId, byToken] = schema.oneOf;
    expect(byExternalId.required.sort()).toEqual(["body", "externalId", "title"]);
    expect(byExternalId.properties.token).toBeUndefined();
    expect(byToken.required.sort()).toEqual(["body", "title", "token"]);
    expect(byToken.properties.externalId).toBeUndefined();
    const def = contractEntries().find(([, d]) => d.meta.operationId === "transactional.send")![1];
    // The example the playground pre-fills is accepted by the contract; the two shapes the oneOf refuses are refused by it too.
    expect(def.input.safeParse(schema.example).success).toBe(true);
    expect(Object.keys(schema.example)).toContain("token");
    expect(def.input.safeParse({ ...schema.example, externalId: "user-42" }).success).toBe(false);
    const { token: _t, ...neither } = schema.example;
    expect(def.input.safeParse(neither).success).toBe(false);
    expect(def.input.safeParse({ ...neither, externalId: "user-42" }).success).toBe(true);
  });

  it("every exactlyOneOf of the contract is a oneOf of one complete shape per field", () => {
    for (const [name, def] of contractEntries()) {
      const fields = def.meta.exactlyOneOf;
      if (!fields) continue;
      const schema = operationOf(doc, def.meta.rest.method, def.meta.rest.path).requestBody.content["application/json"].schema;
      expect(schema.oneOf, name).toHaveLength(fields.length);
      fields.forEach((field, i) => {
        const branch = schema.oneOf[i];
        expect(branch.required, name).toContain(field);
        for (const other of fields) if (other !== field) expect(branch.properties[other], `${name}: ${other} in the ${field} shape`).toBeUndefined();
      });
    }
  });

  it("every request body example is accepted by the contract input", () => {
    for (const [name, def] of contractEntries()) {
      const op = operationOf(doc, def.meta.rest.method, def.meta.rest.path);
      const example = op.requestBody?.content?.["application/json"]?.schema?.example;
      if (example === undefined) continue;
      const pathParams = new Set([...def.meta.rest.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]));
      const result = def.input.safeParse(example);
      const issues = result.success ? [] : result.error.issues.filter((i) => !pathParams.has(String(i.path[0])));
      expect(issues, name).toEqual([]);
    }
  });

  it("409 of POST /subscribers is the envelope plus the existing subscriber", () => {
    const op = operationOf(doc, "POST", "/subscribers");
    const conflict = op.responses["409"].content["application/json"].schema;
    expect(conflict.allOf).toEqual([
      { $ref: "#/components/schemas/ErrorEnvelope" },
      { type: "object", required: ["subscriber"], properties: { subscriber: { $ref: "#/components/schemas/Subscriber" } } },
    ]);
    expect(op.responses["201"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Subscriber" });
    const subscriber = doc.components.schemas.Subscriber;
    expect(subscriber.type).toBe("object");
    expect(subscriber.required).toEqual(expect.arrayContaining(["id", "token", "status"]));
  });

  it("has no unreferenced components, declares every tag, and describes every operation", () => {
    const refs = new Set([...JSON.stringify(doc).matchAll(/"\$ref":"(#\/components\/[^"]+)"/g)].map((m) => m[1]));
    for (const [section, entries] of Object.entries<Record<string, unknown>>(doc.components)) {
      if (section === "securitySchemes") continue;
      for (const key of Object.keys(entries)) expect(refs.has(`#/components/${section}/${key}`), `${section}/${key} is referenced`).toBe(true);
    }
    expect(Object.keys(doc.components.schemas).filter((k) => k.startsWith("error."))).toEqual([]);
    const declared = doc.tags.map((t: any) => t.name);
    expect(new Set(declared).size).toBe(declared.length);
    for (const t of doc.tags) expect(t.description, t.name).toBeTruthy();
    for (const [name, def] of contractEntries()) {
      const op = operationOf(doc, def.meta.rest.method, def.meta.rest.path);
      for (const tag of op.tags) expect(declared, name).toContain(tag);
      expect(op.description, name).toMatch(/\*\*Authentication:\*\* /);
    }
    expect(doc.info.license.name).toBeTruthy();
    expect(doc.info.contact).toBeDefined();
  });

  it("equals the committed snapshot (test/__snapshots__/openapi.snap.json)", () => {
    const current = `${JSON.stringify(doc, null, 2)}\n`;
    if (UPDATE) {
      mkdirSync(dirname(SNAPSHOT), { recursive: true });
      writeFileSync(SNAPSHOT, current);
      console.info(`wrote ${SNAPSHOT}`);
      return;
    }
    if (!existsSync(SNAPSHOT)) {
      throw new Error(`No OpenAPI snapshot at ${SNAPSHOT}. Run \`pnpm openapi:update\` and commit the file.`);
    }
    const committed = JSON.parse(readFileSync(SNAPSHOT, "utf8"));
    const drift = diffPaths(committed, doc);
    if (drift.length > 0) {
      throw new Error(
        [
          "The OpenAPI document served at /openapi.json differs from the committed snapshot test/__snapshots__/openapi.snap.json.",
          "If the API change is intended, run `pnpm openapi:update` and commit the snapshot; otherwise the contract changed by accident.",
          "Drift (+ added, - removed, ~ changed; first 40):",
          ...drift.map((d) => `  ${d}`),
        ].join("\n"),
      );
    }
  });
});

describeEachDb("docs and health", (get) => {
  it("GET /docs is HTML that loads only local assets, and those assets are served", async () => {
    const res = await call(get(), "GET", "/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html: string = res.body;
    const urls = [...html.matchAll(/\b(?:src|href)\s*=\s*["']([^"']+)["']/gi)].map((m) => m[1]!);
    expect(urls.length).toBeGreaterThanOrEqual(2);
    expect(html).not.toMatch(/(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(\s*["']?(?:https?:)?\/\//i);
    const scripts = [...html.matchAll(/<script\b[^>]*\bsrc\s*=\s*["']([^"']+)["']/gi)].map((m) => m[1]!);
    const styles = [...html.matchAll(/<link\b[^>]*\bhref\s*=\s*["']([^"']+)["']/gi)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThanOrEqual(1);
    expect(styles.length).toBeGreaterThanOrEqual(1);
    expect(scripts.some((s) => s.startsWith("/docs/assets/"))).toBe(true);
    for (const url of urls) {
      expect(url, url).toMatch(/^\/docs\//);
      const asset = await fetch(get().url + url);
      expect(asset.status, url).toBe(200);
      const type = asset.headers.get("content-type") ?? "";
      if (scripts.includes(url)) {
        expect(type, url).toMatch(/javascript/);
        const js = await asset.text();
        expect(js.length).toBeGreaterThan(0);
      }
      if (styles.includes(url)) expect(type, url).toMatch(/text\/css/);
    }
  });

  it("the playground is pointed at the local /openapi.json", async () => {
    const html: string = (await call(get(), "GET", "/docs")).body;
    const scripts = [...html.matchAll(/<script\b[^>]*\bsrc\s*=\s*["']([^"']+)["']/gi)].map((m) => m[1]!);
    const texts = await Promise.all(scripts.filter((s) => !s.includes("/assets/")).map(async (s) => (await fetch(get().url + s)).text()));
    const init = [html, ...texts].join("\n");
    expect(init).toContain("/openapi.json");
    expect(init).not.toMatch(/https?:\/\//);
  });

  it("GET /healthz answers 200 with the database reachable", async () => {
    const res = await call(get(), "GET", "/healthz");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ok", database: "ok" });
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
  });
});
