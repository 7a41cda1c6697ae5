import { contractEntries } from "@reachbell/contract";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { buildOpenApiDocument } from "../src/http/openapi";
import { RECORDED_EXAMPLES, type RecordedExample } from "../src/http/openapi-examples";
import { PLACEHOLDER, matchOperation } from "./examples-recorder";

/**
 * The request and response examples of /openapi.json are recorded from the HTTP tests
 * (`pnpm --filter @reachbell/server examples:update`). This fails when an operation has none, and when
 * a recorded example no longer fits the contract: regenerate them then.
 */
const UPDATE = "run `pnpm --filter @reachbell/server examples:update`";

const envelope = z
  .object({
    statusCode: z.number().int(),
    message: z.string().min(1),
    requestId: z.string().regex(/^req_/),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  // Extra fields are allowed (the document's ErrorEnvelope does not close them): a 409 of
  // subscribers.register also carries the existing subscriber.
  .loose();

const entries = contractEntries();
const examplesOf = (operationId: string): RecordedExample[] => Object.values(RECORDED_EXAMPLES[operationId] ?? {});
const issues = (r: { success: boolean; error?: z.ZodError }) => (r.success ? "" : z.prettifyError(r.error!));

describe("OpenAPI examples recorded from the HTTP tests", () => {
  it("name only contract operations, under the status they were recorded with", () => {
    const ids = new Set(entries.map(([, def]) => def.meta.operationId));
    for (const [operationId, byStatus] of Object.entries(RECORDED_EXAMPLES)) {
      expect(ids.has(operationId), `${operationId} is no contract operation: ${UPDATE}`).toBe(true);
      for (const [status, ex] of Object.entries(byStatus)) {
        expect(ex.operationId).toBe(operationId);
        expect(String(ex.status)).toBe(status);
      }
    }
  });

  it("every operation has a success example and at least one error example", () => {
    const missing: string[] = [];
    for (const [, def] of entries) {
      const statuses = examplesOf(def.meta.operationId).map((ex) => ex.status);
      if (!statuses.includes(def.meta.successStatus)) missing.push(`${def.meta.operationId}: no ${def.meta.successStatus} example`);
      if (!statuses.some((s) => s >= 400)) missing.push(`${def.meta.operationId}: no error example`);
    }
    expect(missing, `add a test that makes these calls, then ${UPDATE}`).toEqual([]);
  });

  it("each request still reaches its operation (method and path against the contract's REST route)", () => {
    for (const [, def] of entries) {
      for (const ex of examplesOf(def.meta.operationId)) {
        const path = ex.request.path.split("?")[0]!;
        expect(ex.request.method, ex.source).toBe(def.meta.rest.method);
        expect(matchOperation(ex.request.method, path)?.def.meta.operationId, `${ex.source}: ${UPDATE}`).toBe(def.meta.operationId);
      }
    }
  });

  it("success examples validate: the request against the input schema, the response against the output schema", () => {
    for (const [, def] of entries) {
      for (const ex of examplesOf(def.meta.operationId).filter((e) => e.status < 300)) {
        const { params, query, body } = ex.request;
        const input = { ...query, ...(body && typeof body === "object" ? body : {}), ...params };
        const inResult = def.input.safeParse(input);
        expect(inResult.success, `${def.meta.operationId} request (${ex.source}) no longer fits the input schema: ${issues(inResult)}\n${UPDATE}`).toBe(
          true,
        );
        const outResult = def.output.safeParse(ex.response);
        expect(outResult.success, `${def.meta.operationId} response no longer fits the output schema: ${issues(outResult)}\n${UPDATE}`).toBe(true);
        expect(ex.status).toBe(def.meta.successStatus);
      }
    }
  });

  it("error examples are the error envelope with their status", () => {
    for (const [, def] of entries) {
      for (const ex of examplesOf(def.meta.operationId).filter((e) => e.status >= 400)) {
        const r = envelope.safeParse(ex.response);
        expect(r.success, `${def.meta.operationId} ${ex.status}: ${issues(r)}`).toBe(true);
        expect((ex.response as { statusCode: number }).statusCode).toBe(ex.status);
      }
    }
  });

  it("show placeholders, never a real token or key", () => {
    const text = JSON.stringify(RECORDED_EXAMPLES);
    expect(text, "a JWT").not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/);
    expect(text, "an API key").not.toMatch(/rb_(live|test)_[A-Za-z0-9_-]{16,}/);
    for (const byStatus of Object.values(RECORDED_EXAMPLES)) {
      for (const ex of Object.values(byStatus)) {
        const h = ex.request.headers ?? {};
        if (h.authorization !== undefined) expect(h.authorization).toMatch(/^Bearer eyJ…$/i);
        if (h["x-api-key"] !== undefined) expect(["rb_live_…", "rb_test_…"]).toContain(h["x-api-key"]);
        const body = JSON.stringify(ex.request.body ?? {});
        for (const [, k, v] of body.matchAll(/"(p256dh|auth)":"([^"]*)"/g) as Iterable<RegExpMatchArray>) {
          expect(v, k).toBe(PLACEHOLDER[k as "p256dh" | "auth"]);
        }
      }
    }
  });

  it("are in the served document: named examples on each recorded response, and on the success request", () => {
    const doc = buildOpenApiDocument();
    const undocumented: string[] = [];
    for (const [, def] of entries) {
      const op = doc.paths[def.meta.rest.path]?.[def.meta.rest.method.toLowerCase()];
      expect(op, def.meta.operationId).toBeDefined();
      for (const ex of examplesOf(def.meta.operationId)) {
        const response = op.responses[String(ex.status)];
        if (!response) {
          undocumented.push(`${def.meta.operationId} answered ${ex.status} (${ex.source})`);
          continue;
        }
        const media = ex.status < 300 && def.meta.produces ? def.meta.produces : "application/json";
        const named = response.content?.[media]?.examples?.recorded;
        expect(named?.value, `${def.meta.operationId} ${ex.status}`).toEqual(ex.response);
        expect(typeof named.summary).toBe("string");
        if (ex.status < 300 && ex.request.body !== undefined && op.requestBody) {
          expect(op.requestBody.content["application/json"].examples.recorded.value).toEqual(ex.request.body);
        }
      }
    }
    // A status the tests observe but the document does not list is a gap in the document (its error
    // statuses come from errorStatusesFor in src/http/openapi.ts); the known ones are listed here.
    expect(undocumented).toEqual([]);
  });
});
