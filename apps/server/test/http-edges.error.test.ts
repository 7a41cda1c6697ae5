import { connect } from "node:net";
import { expect, it } from "vitest";
import { call, describeEachDb, expectEnvelope, registerAccount } from "./support";

// Requests refused before any procedure runs still get the envelope (SPEC §5).

/** Sends raw bytes and returns the whole answer (the server closes the connection). */
function rawRequest(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(bytes));
    let out = "";
    socket.setEncoding("utf8");
    socket.on("data", (d) => (out += d));
    socket.on("close", () => resolve(out));
    socket.on("error", reject);
  });
}

describeEachDb("requests refused before routing", (get) => {
  it("a JSON array body is a 400 Malformed JSON body, and changes nothing", async () => {
    const s = get();
    const a = await registerAccount(s, "array-body");
    const before = await call(s, "GET", `/organizations/${a.orgId}`, { token: a.token });
    for (const rawBody of ["[]", '[{"name":"x"}]']) {
      const res = await call(s, "PATCH", `/organizations/${a.orgId}`, { token: a.token, rawBody, headers: { "content-type": "application/json" } });
      expectEnvelope(res, 400, "Malformed JSON body");
    }
    const after = await call(s, "GET", `/organizations/${a.orgId}`, { token: a.token });
    expect(after.body).toEqual(before.body);
  });

  it("headers over Node's 16 KiB limit get a 431 envelope with the request id header", async () => {
    const s = get();
    const answer = await rawRequest(s.url, `GET /projects HTTP/1.1\r\nHost: x\r\nx-big: ${"a".repeat(20_000)}\r\n\r\n`);
    const [head = "", body = ""] = answer.split("\r\n\r\n");
    expect(head).toMatch(/^HTTP\/1\.1 431 /);
    const id = /x-request-id: (req_\S+)/i.exec(head)?.[1];
    expect(JSON.parse(body)).toEqual({ statusCode: 431, message: "Request headers too large", requestId: id });
  });

  it("a malformed request line gets a 400 envelope", async () => {
    const s = get();
    const answer = await rawRequest(s.url, "NOT A REQUEST\r\n\r\n");
    const [head = "", body = ""] = answer.split("\r\n\r\n");
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(body)).toMatchObject({ statusCode: 400, message: "Malformed request" });
  });
});

