import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProjectWithKey, registerSubscriber, sendPush } from "./push-fixtures";
import { type Account, call, describeEachDb, registerAccount } from "./support";

/** Browser-like subscription keys for an arbitrary endpoint. */
function keysFor(endpoint: string) {
  const { publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const jwk = publicKey.export({ format: "jwk" });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]);
  return { endpoint, p256dh: point.toString("base64url"), auth: randomBytes(16).toString("base64url") };
}

// With PUSH_ALLOW_INSECURE_ENDPOINTS off (the default), endpoints that point inside the network are refused at send time.
describeEachDb("transactional send: untrusted endpoints", (get) => {
  let owner: Account;
  let apiKey: string;
  let hits = 0;
  const trap = createServer((_req, res) => {
    hits++;
    res.statusCode = 201;
    res.end();
  });
  beforeAll(async () => {
    await new Promise<void>((r) => trap.listen(0, "127.0.0.1", r));
    owner = await registerAccount(get(), "ssrf");
    ({ apiKey } = await createProjectWithKey(get(), owner));
  });
  afterAll(() => new Promise<void>((r) => trap.close(() => r())));

  const port = () => (trap.address() as AddressInfo).port;

  it("http: and private-address endpoints are refused at registration", async () => {
    expect((await call(get(), "POST", "/subscribers", { apiKey, body: keysFor(`http://127.0.0.1:${port()}/push/1`) })).status).toBe(422);
    for (const host of ["127.0.0.1", "10.1.2.3", "169.254.169.254", "[::1]", "192.168.0.10"]) {
      expect((await call(get(), "POST", "/subscribers", { apiKey, body: keysFor(`https://${host}:${port()}/push/1`) })).status).toBe(422);
    }
  });

  // A hostname is only resolved at send time, and may resolve inside the network then (or have been
  // stored before a DNS change): the sender checks the address it actually connects to.
  const storedEndpoint = async (endpoint: string) => {
    const sub = await registerSubscriber(get(), apiKey, keysFor(`https://push.example.com/${Math.random()}`));
    await get().database.db.updateTable("subscribers").set({ endpoint }).where("id", "=", sub.id).execute();
    return sub;
  };

  for (const host of ["localhost", "127.0.0.1", "10.1.2.3", "169.254.169.254", "[::1]", "192.168.0.10"]) {
    it(`a stored endpoint on ${host} is never contacted: provider_error`, async () => {
      const sub = host === "localhost" ? await registerSubscriber(get(), apiKey, keysFor(`https://localhost:${port()}/push/x`)) : await storedEndpoint(`https://${host}:${port()}/push/x`);
      const res = await sendPush(get(), apiKey, { token: sub.token });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ delivered: false, reason: "provider_error", deactivated: false });
      const msg = await call(get(), "GET", `/messages/${res.body.messageId}`, { apiKey });
      expect(msg.body.attempts[0]).toMatchObject({ status: null, error: "forbidden_address" });
      expect(hits).toBe(0);
    });
  }
}, { pushAllowInsecureEndpoints: false });
