// A real push service (and the browser behind it) on 127.0.0.1 for tests: it enforces
// what FCM/Mozilla/Apple enforce (VAPID signature, audience, expiry, TTL, encoding, size)
// and then decrypts like the user agent would, so a test passes only if a real
// browser would have received the message.
import { createECDH, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { fromBase64Url, toBase64Url } from "../base64url";
import { decryptAes128gcm, MAX_ENCRYPTED_BYTES } from "../encrypt";
import { DecryptError } from "../errors";
import { isValidTopic } from "../request";
import { parseVapidAuthorization, verifyVapidJwt, type VapidClaims } from "../vapid";

export interface ScriptedResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Never answer (for timeout tests). The socket is destroyed by close(). */
  hang?: boolean;
}

export interface PeerSubscriber {
  id: string;
  endpoint: string;
  /** base64url subscriber public key, as PushSubscription.getKey('p256dh') */
  p256dh: string;
  /** base64url 16-byte auth secret */
  auth: string;
  /** base64url 32-byte ECDH private key (stays in the "browser") */
  privateKey: string;
}

export interface ReceivedPush {
  id: string;
  headers: http.IncomingHttpHeaders;
  /** Decrypted payload: parsed JSON when it is JSON, else the text. */
  payload: unknown;
  text: string;
  vapid: VapidClaims & { publicKey: string };
  /** The status the peer answered with (scripted, 201 by default). */
  answeredStatus: number;
}

export interface RejectedPush {
  id: string;
  status: number;
  reason: string;
}

export interface PushServicePeer {
  /** e.g. http://127.0.0.1:41234 — also the VAPID audience this peer requires. */
  origin: string;
  endpointFor(id: string): string;
  /** Creates a subscription the way a browser does: fresh P-256 pair + 16 random bytes. */
  createSubscriber(id?: string): PeerSubscriber;
  /** Queue answers for a subscription id; once used up, the peer answers 201. */
  script(id: string, responses: ScriptedResponse[]): void;
  /** Require this VAPID public key for the subscription (answers 403 otherwise). */
  expectVapidKey(id: string, publicKey: string): void;
  received: ReceivedPush[];
  rejected: RejectedPush[];
  /** Every request that reached the peer, valid or not. */
  readonly requestCount: number;
  /** TCP connections accepted (shows whether senders reuse keep-alive sockets). */
  readonly connectionCount: number;
  close(): Promise<void>;
}

export interface PeerOptions {
  /** Clock for VAPID exp checks, ms since the epoch. */
  now?: () => number;
}

function parseJsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export async function startPushServicePeer(options: PeerOptions = {}): Promise<PushServicePeer> {
  const now = options.now ?? Date.now;
  const subscribers = new Map<string, { privateKey: Buffer; publicKey: Buffer; auth: Buffer }>();
  const scripts = new Map<string, ScriptedResponse[]>();
  const expectedKeys = new Map<string, string>();
  const received: ReceivedPush[] = [];
  const rejected: RejectedPush[] = [];
  let requestCount = 0;
  let connectionCount = 0;
  let origin = "";

  function handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void {
    const match = /^\/push\/([^/?]+)$/.exec(req.url ?? "");
    const id = match?.[1] ? decodeURIComponent(match[1]) : "";
    const reject = (status: number, reason: string) => {
      rejected.push({ id, status, reason });
      res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify({ reason }));
    };
    if (req.method !== "POST" || !match) return reject(404, "not_found");
    const keys = subscribers.get(id);
    if (!keys) return reject(404, "unknown_subscription");

    // RFC 8292 §4.2: missing or invalid VAPID → 401; a key other than the one the
    // subscription was created with → 403.
    const auth = parseVapidAuthorization(req.headers.authorization ?? "");
    if (!auth) return reject(401, "missing_vapid_authorization");
    const verified = verifyVapidJwt(auth.token, auth.publicKey, { audience: origin, now: now() });
    if (!verified.ok) return reject(401, `vapid_${verified.reason}`);
    if (!verified.claims.sub) return reject(401, "vapid_missing_subject");
    const expected = expectedKeys.get(id);
    if (expected !== undefined && expected !== auth.publicKey) return reject(403, "vapid_key_mismatch");

    const single = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? undefined : value;
    };
    const ttl = single("ttl");
    if (ttl === undefined || !/^\d+$/.test(ttl)) return reject(400, "missing_or_invalid_ttl");
    const urgency = single("urgency");
    if (urgency !== undefined && !["very-low", "low", "normal", "high"].includes(urgency)) {
      return reject(400, "invalid_urgency");
    }
    const topic = single("topic");
    if (req.headers.topic !== undefined && (topic === undefined || !isValidTopic(topic))) return reject(400, "invalid_topic");
    if (req.headers["content-encoding"] !== "aes128gcm") return reject(400, "unsupported_content_encoding");
    if (body.length > MAX_ENCRYPTED_BYTES) return reject(413, "payload_too_large");

    let text: string;
    try {
      text = decryptAes128gcm(body, keys).toString("utf8");
    } catch (err) {
      return reject(400, err instanceof DecryptError ? `decrypt_${err.code}` : "decrypt_failed");
    }

    const answer = scripts.get(id)?.shift() ?? { status: 201 };
    received.push({
      id,
      headers: req.headers,
      payload: parseJsonOrText(text),
      text,
      vapid: { ...verified.claims, publicKey: auth.publicKey },
      answeredStatus: answer.status,
    });
    if (answer.hang) return;
    res.writeHead(answer.status, answer.headers).end(answer.body ?? "");
  }

  const server = http.createServer((req, res) => {
    requestCount++;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      // Keep enough to detect "too large" without buffering unbounded input.
      if (size <= MAX_ENCRYPTED_BYTES + 1) chunks.push(chunk);
    });
    req.on("end", () => handle(req, Buffer.concat(chunks), res));
  });
  server.on("connection", () => connectionCount++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    endpointFor: (id) => `${origin}/push/${encodeURIComponent(id)}`,
    createSubscriber(id = randomBytes(8).toString("hex")) {
      const ecdh = createECDH("prime256v1");
      const publicKey = ecdh.generateKeys();
      const privateKey = ecdh.getPrivateKey();
      const auth = randomBytes(16);
      subscribers.set(id, { privateKey, publicKey, auth });
      return {
        id,
        endpoint: `${origin}/push/${encodeURIComponent(id)}`,
        p256dh: toBase64Url(publicKey),
        auth: toBase64Url(auth),
        privateKey: toBase64Url(privateKey),
      };
    },
    script(id, responses) {
      scripts.set(id, [...(scripts.get(id) ?? []), ...responses]);
    },
    expectVapidKey(id, publicKey) {
      if (!fromBase64Url(publicKey)) throw new TypeError("not a base64url key");
      expectedKeys.set(id, publicKey);
    },
    received,
    rejected,
    get requestCount() {
      return requestCount;
    },
    get connectionCount() {
      return connectionCount;
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
