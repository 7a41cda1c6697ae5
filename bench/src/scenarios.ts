import { createECDH, randomBytes } from "node:crypto";
import type autocannon from "autocannon";

// What one measured scenario sends. `prepare` runs against the started target (creating an account,
// a project, a key, subscribers…) and returns the autocannon request options.

/** The part of autocannon's options a scenario decides (url, connections and duration are the runner's). */
export type Load = Partial<Pick<autocannon.Options, "method" | "headers" | "body" | "requests">> & { path?: string };

export interface Scenario {
  name: string;
  /** Which server it runs against. */
  target: "node-http" | "express" | "reachbell";
  /** Compared with the bare-Express baseline: the share of Express throughput this route should keep. */
  aim?: number;
  /** Extra environment of the server child (e.g. the limiter off, counters in Redis). */
  env?: NodeJS.ProcessEnv;
  prepare(url: string): Promise<Load>;
}

const USER_AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
];

/** Real subscription keys (generating one per request would load the generator, not the server). */
function keyPool(n: number): { p256dh: string; auth: string }[] {
  return Array.from({ length: n }, () => {
    const ecdh = createECDH("prime256v1");
    ecdh.generateKeys();
    return { p256dh: ecdh.getPublicKey().toString("base64url"), auth: randomBytes(16).toString("base64url") };
  });
}

/** GET /subscribers/{id} with an API key: 200 subscribers, read round-robin. */
async function readSubscribersLoad(url: string): Promise<Load> {
  const { apiKey } = await provision(url);
  const keys = keyPool(16);
  const ids: string[] = [];
  for (let i = 0; i < 200; i++) {
    const sub = await json(url, "POST", "/subscribers", JSON.parse(subscriptionBody(keys)), { "x-api-key": apiKey });
    ids.push(sub.id);
  }
  let i = 0;
  return {
    requests: [{ method: "GET", headers: { "x-api-key": apiKey }, setupRequest: (req) => ({ ...req, path: `/subscribers/${ids[i++ % ids.length]}` }) }],
  };
}

async function json(url: string, method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<any> {
  const res = await fetch(url + path, { method, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const out = await res.json();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(out)}`);
  return out;
}

/** An account, a live project and an API key, through the public API. */
export async function provision(url: string): Promise<{ apiKey: string; projectId: string }> {
  const email = `bench-${randomBytes(6).toString("hex")}@reachbell.test`;
  const reg = await json(url, "POST", "/auth/register", { email, password: "bench password 1", name: "Bench", organizationName: "Bench" });
  const auth = { authorization: `Bearer ${reg.access_token}`, "x-org-id": reg.user.organizations[0].id };
  const project = await json(url, "POST", "/projects", { name: "Bench", environment: "live" }, auth);
  const key = await json(url, "POST", `/projects/${project.id}/api-keys`, { name: "bench" }, auth);
  return { apiKey: key.key, projectId: project.id };
}

let endpointCounter = 0;
const runTag = randomBytes(4).toString("hex");

function subscriptionBody(keys: { p256dh: string; auth: string }[]): string {
  const n = endpointCounter++;
  const k = keys[n % keys.length]!;
  return JSON.stringify({
    endpoint: `https://fcm.googleapis.com/fcm/send/bench-${runTag}-${n}`,
    p256dh: k.p256dh,
    auth: k.auth,
    userAgent: USER_AGENTS[n % USER_AGENTS.length],
    timezone: "Europe/Paris",
    language: "fr-FR",
  });
}

export const baselines: Scenario[] = [
  { name: "node:http JSON hello", target: "node-http", prepare: async () => ({ method: "GET", path: "/" }) },
  { name: "Express 5 JSON hello", target: "express", prepare: async () => ({ method: "GET", path: "/" }) },
];

export const reachbellScenarios: Scenario[] = [
  {
    name: "POST /subscribers (API key, unique endpoints)",
    target: "reachbell",
    aim: 0.4,
    async prepare(url) {
      const { apiKey } = await provision(url);
      const keys = keyPool(64);
      return {
        requests: [
          {
            method: "POST",
            path: "/subscribers",
            headers: { "content-type": "application/json", "x-api-key": apiKey },
            setupRequest: (req) => ({ ...req, body: subscriptionBody(keys) }),
          },
        ],
      };
    },
  },
  {
    name: "GET /subscribers/{id} (API key)",
    target: "reachbell",
    aim: 0.5,
    prepare: readSubscribersLoad,
  },
  // Rate-limit overhead: the route above without the limiter, and with its counters in Redis
  // (BENCH_REDIS_URL). Compare their req/s with "GET /subscribers/{id} (API key)".
  {
    name: "GET /subscribers/{id} (API key, rate limiter off)",
    target: "reachbell",
    env: { BENCH_RATE_LIMITING: "off" },
    prepare: readSubscribersLoad,
  },
  ...(process.env.BENCH_REDIS_URL
    ? [
        {
          name: "GET /subscribers/{id} (API key, counters in Redis)",
          target: "reachbell",
          env: { REDIS_URL: process.env.BENCH_REDIS_URL, REDIS_KEY_PREFIX: `rbbench:${runTag}:` },
          prepare: readSubscribersLoad,
        } satisfies Scenario,
      ]
    : []),
  // Later scenarios go here, measured the same way and compared with the same baselines
  // (e.g. POST /transactional/send on a sandbox project: builds the message, never sends).
];
