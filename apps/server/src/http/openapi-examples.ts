import recorded from "./openapi-examples.json" with { type: "json" };

/** A request as the HTTP tests sent it, credentials replaced by placeholders (rb_test_…, eyJ…). */
export interface ExampleRequest {
  method: string;
  /** The concrete path and query string, e.g. `/projects/proj_…?limit=2`. */
  path: string;
  params?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: unknown;
}

/** One recorded exchange: the first one the tests made per operation × status. */
export interface RecordedExample {
  operationId: string;
  status: number;
  /** `<test file> › <test name>` that made the call. */
  source: string;
  request: ExampleRequest;
  response: unknown;
}

/** operationId → HTTP status → example; written by `pnpm --filter @reachbell/server examples:update`. */
export type ExamplesFile = Record<string, Record<string, RecordedExample>>;

export const RECORDED_EXAMPLES = recorded as unknown as ExamplesFile;

const EXAMPLE_NAME = "recorded";

function requestText(req: ExampleRequest): string {
  const lines = [`${req.method} ${req.path}`, ...Object.entries(req.headers ?? {}).map(([k, v]) => `${k}: ${v}`)];
  if (req.body !== undefined) lines.push("", JSON.stringify(req.body, null, 2));
  return lines.join("\n");
}

/** A query or path value as its parameter's schema types it (`?limit=2` is the integer 2). */
function typed(raw: string, schema: { type?: unknown } | undefined): unknown {
  const type = schema?.type;
  if ((type === "integer" || type === "number") && raw.trim() !== "" && Number.isFinite(Number(raw))) return Number(raw);
  if (type === "boolean" && (raw === "true" || raw === "false")) return raw === "true";
  return raw;
}

const isSuccess = (status: number) => status >= 200 && status < 300;

function summaryOf(ex: RecordedExample): string {
  if (isSuccess(ex.status)) return ex.status === 201 ? "201 Created" : `${ex.status} OK`;
  const message = (ex.response as { message?: unknown } | null)?.message;
  const text = typeof message === "string" ? message : "";
  return `${ex.status} ${text.length > 100 ? `${text.slice(0, 99)}…` : text}`.trim();
}

function descriptionOf(ex: RecordedExample): string {
  return `Recorded by \`${ex.source}\`. Request:\n\n\`\`\`http\n${requestText(ex.request)}\n\`\`\``;
}

/** Sets the named examples on the JSON content of a request body or response (or, for a download, on its one media type). */
function withJsonExamples(holder: Record<string, any>, examples: Record<string, unknown>): void {
  const types = Object.keys(holder.content ?? {});
  const type = types.includes("application/json") ? "application/json" : types.length === 1 ? types[0]! : undefined;
  if (!type) return;
  holder.content = { ...holder.content, [type]: { ...holder.content[type], examples } };
}

/**
 * Puts the examples recorded from the HTTP tests into the document (OpenAPI 3.1 named examples,
 * which Swagger UI lists): the success request as the request body's and parameters' example, and
 * each recorded response under its status. Statuses the document does not list are left out.
 */
export function applyExamples(doc: Record<string, any>, examples: ExamplesFile = RECORDED_EXAMPLES): Record<string, any> {
  for (const methods of Object.values<Record<string, any>>(doc.paths ?? {})) {
    for (const op of Object.values<any>(methods)) {
      const byStatus = examples[op?.operationId];
      if (!byStatus) continue;
      for (const [status, ex] of Object.entries(byStatus)) {
        const response = op.responses?.[status];
        if (!response) continue;
        op.responses[status] = { ...response };
        withJsonExamples(op.responses[status], { [EXAMPLE_NAME]: { summary: summaryOf(ex), description: descriptionOf(ex), value: ex.response } });
      }
      const success = Object.values(byStatus).find((ex) => isSuccess(ex.status));
      if (!success) continue;
      const req = success.request;
      if (op.requestBody && req.body !== undefined) {
        op.requestBody = { ...op.requestBody };
        withJsonExamples(op.requestBody, { [EXAMPLE_NAME]: { summary: "Recorded request", description: `Recorded by \`${success.source}\`.`, value: req.body } });
      }
      if (Array.isArray(op.parameters)) {
        op.parameters = op.parameters.map((p: any) => {
          const source = p.in === "path" ? req.params : p.in === "query" ? req.query : p.in === "header" ? req.headers : undefined;
          const raw = source?.[p.in === "header" ? String(p.name).toLowerCase() : p.name];
          return raw === undefined ? p : { ...p, examples: { [EXAMPLE_NAME]: { summary: "Recorded value", value: typed(raw, p.schema) } } };
        });
      }
    }
  }
  return doc;
}
