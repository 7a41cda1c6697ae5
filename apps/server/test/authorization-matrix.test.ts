import { randomBytes } from "node:crypto";
import { type ProcedureDef, type ProtectedRule, type Role, type SubscriptionDef, contractEntries, isPublic, roleRank, subscriptionEntries } from "@reachbell/contract";
import { type Dialect, newId, testDialects } from "@reachbell/db";
import { type PushServicePeer, startPushServicePeer } from "@reachbell/push/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueUserToken } from "../src/auth/user-tokens";
import { type TestPartner, newPartner, partnerJwt, tenantJwt } from "./partner-fixtures";
import { type Account, type ApiResponse, type TestServer, call, registerAccount, startServer } from "./support";

// The authorization matrix, generated from the contract: every operation × every kind of principal ×
// own vs foreign resource. The expected status comes from a reference model of SPEC §2 written here
// independently of src/auth (credential → route → organization/tenant → role → resources), and no
// response body may contain an identifier or a name from outside the caller's own scope.
//
// A procedure added to the contract is covered automatically: its path parameters are filled by
// name (teach `refKindOf` a new name), GET/DELETE need nothing else, and an operation whose input has
// required fields besides path parameters must get a sample body in SAMPLES or this suite fails.

// ---------------------------------------------------------------------------------------------
// The world: two user organizations (U with a member at each role, F foreign), two partners each
// with a tenant (T1 of P1, T2 of P2), a live project in each organization and a sandbox one in U,
// each with an API key, a subscriber and a message.

type OrgName = "U" | "F" | "T1" | "T2";
type ProjectName = "U.live" | "U.sandbox" | "F.live" | "T1.live" | "T2.live";

interface WorldProject {
  name: ProjectName;
  id: string;
  orgId: string;
  label: string;
  keyId: string;
  key: string;
  /** A publishable (page) key of the project. */
  publishableKey: string;
  subscriberId: string;
  subscriberToken: string;
  endpoint: string;
  messageId: string;
  vapidPublicKey: string;
  segmentId: string;
  segmentName: string;
  /** A draft campaign of the project (to the segment above). */
  campaignId: string;
  campaignName: string;
}
interface WorldOrg {
  name: OrgName;
  id: string;
  label: string;
  partnerId: string | null;
  externalId: string | null;
  /** The membership that member operations target (U: the VIEWER's; F: its OWNER's; tenants: none). */
  memberId: string;
}
interface WorldUser {
  id: string;
  email: string;
  label: string;
  token: string;
}
interface World {
  orgs: Record<OrgName, WorldOrg>;
  projects: Record<ProjectName, WorldProject>;
  users: Record<"owner" | "admin" | "member" | "viewer" | "loner" | "spare" | "fOwner", WorldUser>;
  memberships: Map<string, Map<string, { role: Role; memberId: string }>>;
  partners: Record<"P1" | "P2", TestPartner>;
  /** Identifiers and names by scope, for the leak check. */
  scopes: Map<string, Set<string>>;
}

const liveOf = (org: OrgName): ProjectName => `${org}.live` as ProjectName;
const tag = () => randomBytes(5).toString("hex");

async function insertUser(server: TestServer, label: string): Promise<WorldUser> {
  const now = new Date().toISOString();
  const id = newId("usr");
  const email = `${label}-${tag()}@matrix.test`;
  const name = `${label} ${tag()}`;
  // Tokens are minted directly: these users never log in, and argon2 would only slow the world down.
  await server.database.db.insertInto("users").values({ id, email, name, passwordHash: "!", createdAt: now, updatedAt: now }).execute();
  return { id, email, label: name, token: await issueUserToken(server.app.deps, id) };
}

async function insertOrg(server: TestServer, name: OrgName): Promise<{ id: string; label: string }> {
  const now = new Date().toISOString();
  const id = newId("org");
  const label = `Org ${name} ${tag()}`;
  await server.database.db.insertInto("organizations").values({ id, name: label, plan: "FREE", partnerId: null, externalId: null, createdAt: now, updatedAt: now }).execute();
  return { id, label };
}

async function insertMembership(server: TestServer, orgId: string, userId: string, role: Role): Promise<string> {
  const id = newId("mem");
  await server.database.db.insertInto("memberships").values({ id, organizationId: orgId, userId, role, createdAt: new Date().toISOString() }).execute();
  return id;
}

async function must(res: Promise<ApiResponse>, status: number, what: string): Promise<any> {
  const r = await res;
  if (r.status !== status) throw new Error(`world: ${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function buildWorld(server: TestServer, peer: PushServicePeer): Promise<World> {
  const users = {
    owner: await insertUser(server, "owner"),
    admin: await insertUser(server, "admin"),
    member: await insertUser(server, "member"),
    viewer: await insertUser(server, "viewer"),
    loner: await insertUser(server, "loner"),
    spare: await insertUser(server, "spare"),
    fOwner: await insertUser(server, "fowner"),
  };
  const memberships = new Map<string, Map<string, { role: Role; memberId: string }>>();
  const addMember = async (orgId: string, user: WorldUser, role: Role) => {
    const memberId = await insertMembership(server, orgId, user.id, role);
    if (!memberships.has(user.id)) memberships.set(user.id, new Map());
    memberships.get(user.id)!.set(orgId, { role, memberId });
    return memberId;
  };
  const u = await insertOrg(server, "U");
  const f = await insertOrg(server, "F");
  await addMember(u.id, users.owner, "OWNER");
  await addMember(u.id, users.admin, "ADMIN");
  await addMember(u.id, users.member, "MEMBER");
  const viewerMemberId = await addMember(u.id, users.viewer, "VIEWER");
  const fOwnerMemberId = await addMember(f.id, users.fOwner, "OWNER");

  const partners = { P1: await newPartner(server, `P1 ${tag()}`), P2: await newPartner(server, `P2 ${tag()}`) };
  const tenantOf = async (p: TestPartner, name: OrgName) => {
    const externalId = `ext-${name}-${tag()}`;
    const label = `Tenant ${name} ${tag()}`;
    const body = await must(call(server, "POST", "/partner/tenants", { token: await partnerJwt(p), body: { externalId, name: label } }), 201, "create tenant");
    return { id: body.id as string, label, externalId };
  };
  const t1 = await tenantOf(partners.P1, "T1");
  const t2 = await tenantOf(partners.P2, "T2");
  const noMember = "mem_00000000000000000000000000";
  const orgs: Record<OrgName, WorldOrg> = {
    U: { name: "U", ...u, partnerId: null, externalId: null, memberId: viewerMemberId },
    F: { name: "F", ...f, partnerId: null, externalId: null, memberId: fOwnerMemberId },
    T1: { name: "T1", id: t1.id, label: t1.label, partnerId: partners.P1.partnerId, externalId: t1.externalId, memberId: noMember },
    T2: { name: "T2", id: t2.id, label: t2.label, partnerId: partners.P2.partnerId, externalId: t2.externalId, memberId: noMember },
  };

  const auth = async (org: OrgName): Promise<Parameters<typeof call>[3]> => {
    if (org === "U") return { token: users.owner.token, orgId: u.id };
    if (org === "F") return { token: users.fOwner.token, orgId: f.id };
    const p = org === "T1" ? partners.P1 : partners.P2;
    return { token: await tenantJwt(p, orgs[org].externalId!) };
  };
  const makeProject = async (name: ProjectName, org: OrgName, environment: "live" | "sandbox"): Promise<WorldProject> => {
    const label = `Project ${name} ${tag()}`;
    const project = await must(call(server, "POST", "/projects", { ...(await auth(org)), body: { name: label, environment } }), 201, `create ${name}`);
    const key = await must(call(server, "POST", `/projects/${project.id}/api-keys`, { ...(await auth(org)), body: { name: `key ${tag()}` } }), 201, `key of ${name}`);
    const publishable = await must(
      call(server, "POST", `/projects/${project.id}/api-keys`, { ...(await auth(org)), body: { name: `page key ${tag()}`, scope: "publishable" } }),
      201,
      `publishable key of ${name}`,
    );
    const peerSub = peer.createSubscriber(`${name}-${tag()}`);
    const sub = await must(
      call(server, "POST", "/subscribers", { apiKey: key.key, body: { endpoint: peerSub.endpoint, p256dh: peerSub.p256dh, auth: peerSub.auth } }),
      201,
      `subscriber of ${name}`,
    );
    const sent = await must(call(server, "POST", "/transactional/send", { apiKey: key.key, body: { token: sub.token, title: "t", body: "b" } }), 200, `message of ${name}`);
    if (!sent.messageId) throw new Error(`world: no message for ${name}: ${JSON.stringify(sent)}`);
    const segmentName = `Segment ${name} ${tag()}`;
    const segment = await must(call(server, "POST", "/segments", { ...(await auth(org)), body: { projectId: project.id, name: segmentName, filters: {} } }), 201, `segment of ${name}`);
    const campaignName = `Campaign ${name} ${tag()}`;
    const campaign = await must(
      call(server, "POST", "/campaigns", {
        ...(await auth(org)),
        body: { projectId: project.id, name: campaignName, content: { title: "t", body: "b" }, segment: { savedSegmentId: segment.id }, schedule: { mode: "draft" } },
      }),
      201,
      `campaign of ${name}`,
    );
    return {
      name,
      id: project.id,
      orgId: orgs[org].id,
      label,
      keyId: key.id,
      key: key.key,
      publishableKey: publishable.key,
      subscriberId: sub.id,
      subscriberToken: sub.token,
      endpoint: peerSub.endpoint,
      messageId: sent.messageId,
      vapidPublicKey: project.vapidPublicKey,
      segmentId: segment.id,
      segmentName,
      campaignId: campaign.id,
      campaignName,
    };
  };
  const projects: Record<ProjectName, WorldProject> = {
    "U.live": await makeProject("U.live", "U", "live"),
    "U.sandbox": await makeProject("U.sandbox", "U", "sandbox"),
    "F.live": await makeProject("F.live", "F", "live"),
    "T1.live": await makeProject("T1.live", "T1", "live"),
    "T2.live": await makeProject("T2.live", "T2", "live"),
  };

  const scopes = new Map<string, Set<string>>();
  const add = (scope: string, ...values: (string | null)[]) => {
    if (!scopes.has(scope)) scopes.set(scope, new Set());
    for (const v of values) if (v) scopes.get(scope)!.add(v);
  };
  for (const [name, user] of Object.entries(users)) add(`user:${name}`, user.id, user.email, user.label);
  for (const org of Object.values(orgs)) add(`org:${org.name}`, org.id, org.label, org.externalId);
  for (const p of Object.values(projects)) {
    const org = p.name.split(".")[0] as OrgName;
    add(`project:${p.name}`, p.id, p.label, p.keyId, p.key, p.publishableKey, p.subscriberId, p.subscriberToken, p.endpoint, p.messageId, p.vapidPublicKey, p.segmentId, p.segmentName, p.campaignId, p.campaignName, orgs[org].id, orgs[org].label);
  }
  add("partner:P1", partners.P1.partnerId, partners.P1.secret);
  add("partner:P2", partners.P2.partnerId, partners.P2.secret);
  for (const [userId, byOrg] of memberships) for (const [orgId, m] of byOrg) add(`membership:${orgId === u.id ? "U" : "F"}`, m.memberId, userId);
  return { orgs, projects, users, memberships, partners, scopes };
}

// ---------------------------------------------------------------------------------------------
// Principals

type Family = "user" | "partner";
type Credential =
  | { kind: "none" }
  | { kind: "jwt"; user: keyof World["users"]; orgHeader?: OrgName }
  | { kind: "apiKey"; project: ProjectName; publishable?: true }
  | { kind: "partner"; partner: "P1" | "P2"; tenantHeader?: OrgName }
  | { kind: "tenant"; tenant: "T1" | "T2"; role?: Role };

interface Variant {
  name: string;
  /** Whose resources count as "own" (user family: U vs F; partner family: T1 vs T2). */
  family: Family;
  credential: Credential;
  /** The scopes whose identifiers this principal may see. */
  visible: string[];
}

const U_SCOPE = ["org:U", "project:U.live", "project:U.sandbox", "membership:U", "user:owner", "user:admin", "user:member", "user:viewer", "user:spare"];
const VARIANTS: Variant[] = [
  { name: "none", family: "user", credential: { kind: "none" }, visible: [] },
  { name: "user JWT without org", family: "user", credential: { kind: "jwt", user: "loner" }, visible: ["user:loner"] },
  ...(["viewer", "member", "admin", "owner"] as const).map(
    (user): Variant => ({ name: `user JWT + own org as ${user.toUpperCase()}`, family: "user", credential: { kind: "jwt", user, orgHeader: "U" }, visible: U_SCOPE }),
  ),
  { name: "user JWT + foreign org", family: "user", credential: { kind: "jwt", user: "owner", orgHeader: "F" }, visible: U_SCOPE },
  { name: "API key of own project", family: "user", credential: { kind: "apiKey", project: "U.live" }, visible: ["project:U.live"] },
  { name: "API key of a foreign project", family: "user", credential: { kind: "apiKey", project: "F.live" }, visible: ["project:F.live"] },
  { name: "sandbox API key (other project, same org)", family: "user", credential: { kind: "apiKey", project: "U.sandbox" }, visible: ["project:U.sandbox"] },
  { name: "publishable API key of own project", family: "user", credential: { kind: "apiKey", project: "U.live", publishable: true }, visible: ["project:U.live"] },
  { name: "publishable API key of a foreign project", family: "user", credential: { kind: "apiKey", project: "F.live", publishable: true }, visible: ["project:F.live"] },
  { name: "partner JWT without tenant", family: "partner", credential: { kind: "partner", partner: "P1" }, visible: ["partner:P1", "org:T1", "project:T1.live"] },
  { name: "partner JWT + own tenant", family: "partner", credential: { kind: "partner", partner: "P1", tenantHeader: "T1" }, visible: ["partner:P1", "org:T1", "project:T1.live"] },
  { name: "partner JWT + another partner's tenant", family: "partner", credential: { kind: "partner", partner: "P1", tenantHeader: "T2" }, visible: ["partner:P1", "org:T1", "project:T1.live"] },
  { name: "tenant JWT (own tenant)", family: "partner", credential: { kind: "tenant", tenant: "T1" }, visible: ["partner:P1", "org:T1", "project:T1.live"] },
  { name: "tenant JWT of a foreign tenant", family: "partner", credential: { kind: "tenant", tenant: "T2" }, visible: ["partner:P2", "org:T2", "project:T2.live"] },
];

async function headersFor(c: Credential, w: World): Promise<Record<string, string>> {
  switch (c.kind) {
    case "none":
      return {};
    case "jwt":
      return { authorization: `Bearer ${w.users[c.user].token}`, ...(c.orgHeader ? { "x-org-id": w.orgs[c.orgHeader].id } : {}) };
    case "apiKey":
      return { "x-api-key": c.publishable ? w.projects[c.project].publishableKey : w.projects[c.project].key };
    case "partner":
      // The tenant is named by its externalId for T1 and by its organization id for T2: both forms are covered.
      return {
        authorization: `Bearer ${await partnerJwt(w.partners[c.partner])}`,
        ...(c.tenantHeader ? { "reach-tenant-id": c.tenantHeader === "T1" ? w.orgs.T1.externalId! : w.orgs.T2.id } : {}),
      };
    case "tenant": {
      const partner = c.tenant === "T1" ? w.partners.P1 : w.partners.P2;
      return { authorization: `Bearer ${await tenantJwt(partner, w.orgs[c.tenant].externalId!, c.role ? { role: c.role } : {})}` };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Requests: path parameters and body fields that name resources, filled from the world.

type RefKind = "org" | "project" | "key" | "member" | "subscriber" | "subscriberToken" | "message" | "tenant" | "segment" | "campaign";
interface Ref {
  kind: RefKind;
  value: string;
  /** Where the resource lives (null: nowhere, e.g. a tenant's nonexistent membership). */
  orgId: string | null;
  projectId: string | null;
  partnerId: string | null;
}

/** What a path parameter names. A new parameter name must be taught here. */
function refKindOf(path: string, param: string): RefKind {
  if (param === "orgId") return "org";
  if (param === "projectId") return "project";
  if (param === "keyId") return "key";
  if (param === "memberId") return "member";
  if (param === "idOrExternalId") return "tenant";
  if (param === "segmentId") return "segment";
  if (param === "campaignId") return "campaign";
  if (param === "id" && path.startsWith("/subscribers/")) return "subscriber";
  if (param === "id" && path.startsWith("/messages/")) return "message";
  throw new Error(`authorization matrix: no resource kind for {${param}} in ${path}: teach refKindOf()`);
}

type Side = "own" | "foreign" | "mixed";

/** Resolves references for one side: "mixed" names the first (enclosing) resource from the own side and the rest from the foreign one. */
class Refs {
  readonly list: Ref[] = [];
  constructor(
    private readonly w: World,
    private readonly family: Family,
    private readonly side: Side,
  ) {}

  pick(kind: RefKind): string {
    const own = this.side === "own" || (this.side === "mixed" && this.list.length === 0);
    const orgName: OrgName = this.family === "user" ? (own ? "U" : "F") : own ? "T1" : "T2";
    const org = this.w.orgs[orgName];
    const p = this.w.projects[liveOf(orgName)];
    const at = (value: string, inOrg: string | null = org.id, inProject: string | null = p.id): string => {
      this.list.push({ kind, value, orgId: inOrg, projectId: inProject, partnerId: org.partnerId });
      return value;
    };
    switch (kind) {
      case "org":
        return at(org.id, org.id, null);
      case "project":
        return at(p.id);
      case "key":
        return at(p.keyId);
      case "member":
        return at(org.memberId, org.memberId.startsWith("mem_0000") ? null : org.id, null);
      case "subscriber":
        return at(p.subscriberId);
      case "subscriberToken":
        return at(p.subscriberToken);
      case "message":
        return at(p.messageId);
      case "segment":
        return at(p.segmentId);
      case "campaign":
        return at(p.campaignId);
      case "tenant":
        return at(org.externalId ?? org.id, org.id, null);
    }
  }
}

interface SampleContext {
  ref: (kind: RefKind) => string;
  unique: (prefix: string) => string;
  subscription: () => { endpoint: string; p256dh: string; auth: string };
  spareEmail: string;
  login: Account;
}
interface Sample {
  body?: (c: SampleContext) => Record<string, unknown>;
  /** Status of an allowed call (default: the contract's success status). */
  okStatus?: number;
  /** Status when an allowed principal names a resource outside its scope (default 404). */
  outOfScopeStatus?: number;
  /** Run allowed calls on a fresh world because they destroy what others use (default: every non-GET). */
  isolate?: boolean;
}

/** Minimal valid input for operations with required fields beyond path parameters, and how they behave. */
const SAMPLES: Record<string, Sample> = {
  "auth.register": {
    body: (c) => ({ email: `${c.unique("reg")}@matrix.test`, password: "correct horse battery", name: "Reg", organizationName: "Reg org" }),
    isolate: false,
  },
  "auth.login": { body: (c) => ({ email: c.login.email, password: c.login.password }), isolate: false },
  "organizations.create": { body: () => ({ name: "Matrix org" }), isolate: false },
  "organizations.update": { body: () => ({ name: "Renamed org" }), isolate: false },
  "members.add": { body: (c) => ({ email: c.spareEmail, role: "MEMBER" }) },
  "members.update": { body: () => ({ role: "MEMBER" }) },
  "projects.create": { body: () => ({ name: "Matrix project", environment: "sandbox" }), isolate: false },
  "projects.update": { body: () => ({ name: "Renamed project" }), isolate: false },
  "apiKeys.create": { body: () => ({ name: "matrix key" }), isolate: false },
  "subscribers.register": { body: (c) => ({ projectId: c.ref("project"), ...c.subscription() }), isolate: false },
  "subscribers.identify": { body: (c) => ({ token: c.ref("subscriberToken"), externalId: "matrix-user" }), isolate: false },
  "subscribers.tags": { body: (c) => ({ token: c.ref("subscriberToken"), add: ["matrix"] }), isolate: false },
  // Status only, like unsubscribe by id: the shared world survives it.
  "subscribers.unsubscribeByToken": { body: (c) => ({ token: c.ref("subscriberToken") }), isolate: false },
  // A new secret replaces the old one; nothing else in the world depends on it.
  "projects.rotateIdentitySecret": { isolate: false },
  // A valid send always answers 200 (SPEC §4): a subscriber outside the key's project is "not found" in the body.
  // Unsubscribing keeps the subscriber (status only), so the shared world survives it.
  "subscribers.unsubscribe": { isolate: false },
  "transactional.send": { body: (c) => ({ token: c.ref("subscriberToken"), title: "Hi", body: "There" }), isolate: false, outOfScopeStatus: 200 },
  // Idempotent (first timestamp wins): the shared world survives it.
  "events.notifications": { body: (c) => ({ messageId: c.ref("message"), token: c.ref("subscriberToken"), type: "displayed" }), isolate: false },
  "segments.create": { body: (c) => ({ projectId: c.ref("project"), name: "Matrix segment", filters: { platform: ["desktop"] } }), isolate: false },
  "segments.list": { body: (c) => ({ projectId: c.ref("project") }) },
  "segments.count": { body: (c) => ({ projectId: c.ref("project"), filters: { tags: ["matrix"] } }), isolate: false },
  "segments.update": { body: () => ({ name: "Renamed segment" }), isolate: false },
  "campaigns.create": {
    body: (c) => ({ projectId: c.ref("project"), name: "Matrix campaign", content: { title: "t", body: "b" }, segment: { filters: {} }, schedule: { mode: "draft" } }),
    isolate: false,
  },
  "campaigns.list": { body: (c) => ({ projectId: c.ref("project") }) },
  "campaigns.update": { body: () => ({ name: "Renamed campaign" }), isolate: false },
  // The world's campaign is a draft: pausing or resuming it is a conflict once the caller is let through.
  "campaigns.pause": { okStatus: 409, isolate: false },
  "campaigns.resume": { okStatus: 409, isolate: false },
  "partnerTenants.create": { body: (c) => ({ externalId: c.unique("mx"), name: "Matrix tenant" }), isolate: false },
  "partnerTenants.update": { body: () => ({ name: "Renamed tenant" }), isolate: false },
};

const pathParams = (path: string) => [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);

/** Input fields that are required and not path parameters: they need a sample. */
function requiredBodyFields(def: ProcedureDef): string[] {
  const shape = (def.input as any).shape as Record<string, { safeParse(v: unknown): { success: boolean } }> | undefined;
  if (!shape) return [];
  const params = new Set(pathParams(def.meta.rest.path));
  return Object.entries(shape)
    .filter(([k, s]) => !params.has(k) && !s.safeParse(undefined).success)
    .map(([k]) => k);
}

/** How many resource references an operation makes (0: "foreign" is the same request as "own"). */
function sidesFor(def: ProcedureDef, w: World): Side[] {
  const probe = new Refs(w, "user", "own");
  for (const p of pathParams(def.meta.rest.path)) probe.pick(refKindOf(def.meta.rest.path, p));
  SAMPLES[def.meta.operationId]?.body?.(sampleContext(probe, w, { email: "", password: "", token: "", userId: "", orgId: "" }));
  const n = probe.list.length;
  return n === 0 ? ["own"] : n === 1 ? ["own", "foreign"] : ["own", "foreign", "mixed"];
}

let counter = 0;
function sampleContext(refs: Refs, w: World, login: Account, peer?: PushServicePeer): SampleContext {
  return {
    ref: (kind) => refs.pick(kind),
    unique: (prefix) => `${prefix}-${Date.now().toString(36)}-${++counter}`,
    subscription: () => {
      if (!peer) return { endpoint: "https://push.example/x", p256dh: "x", auth: "x" };
      const s = peer.createSubscriber(`mx-${++counter}`);
      return { endpoint: s.endpoint, p256dh: s.p256dh, auth: s.auth };
    },
    spareEmail: w.users.spare.email,
    login,
  };
}

interface BuiltRequest {
  method: string;
  path: string;
  body?: Record<string, unknown>;
  refs: Ref[];
}

function buildRequest(def: ProcedureDef, w: World, family: Family, side: Side, login: Account, peer: PushServicePeer): BuiltRequest {
  const refs = new Refs(w, family, side);
  let path: string = def.meta.rest.path;
  for (const p of pathParams(path)) path = path.replace(`{${p}}`, encodeURIComponent(refs.pick(refKindOf(def.meta.rest.path, p))));
  const body = SAMPLES[def.meta.operationId]?.body?.(sampleContext(refs, w, login, peer));
  const method = def.meta.rest.method;
  if (body && (method === "GET" || method === "DELETE")) {
    path += `?${new URLSearchParams(Object.entries(body).map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
    return { method, path, refs: refs.list };
  }
  return { method, path, ...(method === "GET" || method === "DELETE" ? {} : { body: body ?? {} }), refs: refs.list };
}

// ---------------------------------------------------------------------------------------------
// The reference model: what SPEC §2 says the answer is. "ok" = the operation runs.

type Expected = "ok" | 401 | 403 | 404 | number;

function expectedOutcome(def: ProcedureDef, v: Variant, req: BuiltRequest, w: World): Expected {
  const rule = def.meta.auth;
  if (isPublic(rule)) return "ok";
  const r = rule as ProtectedRule;
  const accepts = (k: string) => (r.accepts as readonly string[]).includes(k);
  const roleOk = (role: Role) => !r.role || roleRank(role) >= roleRank(r.role);
  const outOfScope = SAMPLES[def.meta.operationId]?.outOfScopeStatus ?? 404;
  /** Every resource named lies in the organization (and in the project named alongside, if any). */
  const inOrg = (orgId: string) => {
    const project = req.refs.find((x) => x.kind === "project");
    return req.refs.every((x) => (x.kind === "org" ? x.orgId === orgId : x.orgId === orgId && (x.kind === "member" || x.kind === "tenant" || !project || x.projectId === project.projectId)));
  };
  const c = v.credential;
  switch (c.kind) {
    case "none":
      return 401;
    case "apiKey": {
      // A publishable key: only the rules marked publishable, without the input fields they refuse.
      if (c.publishable && (!r.publishable || (r.publishable.refuse ?? []).some((f) => req.body?.[f] !== undefined))) return 403;
      if (!accepts("apiKey")) return 403;
      if (!roleOk("MEMBER")) return 403;
      const key = w.projects[c.project];
      if (req.refs.some((x) => x.kind === "project" && x.value !== key.id)) return 403;
      return req.refs.every((x) => x.projectId === key.id) ? "ok" : outOfScope;
    }
    case "jwt": {
      if (accepts("user")) return "ok";
      if (!accepts("member")) return 403;
      const userId = w.users[c.user].id;
      const orgId = r.orgFrom === "input" ? req.refs.find((x) => x.kind === "org")?.value : c.orgHeader && w.orgs[c.orgHeader].id;
      if (!orgId) return 403;
      const membership = w.memberships.get(userId)?.get(orgId);
      if (!membership) return 404;
      if (!roleOk(membership.role)) return 403;
      return inOrg(orgId) ? "ok" : outOfScope;
    }
    case "partner": {
      const partnerId = w.partners[c.partner].partnerId;
      if (accepts("partner")) return req.refs.every((x) => x.partnerId === partnerId) ? "ok" : 404;
      if (!accepts("partnerTenant")) return 403;
      if (!c.tenantHeader) return 403;
      const tenant = w.orgs[c.tenantHeader];
      if (tenant.partnerId !== partnerId) return 404;
      return inOrg(tenant.id) ? "ok" : outOfScope; // a partner acts on its tenant as OWNER
    }
    case "tenant": {
      if (!accepts("tenant")) return 403;
      if (!roleOk(c.role ?? "ADMIN")) return 403;
      return inOrg(w.orgs[c.tenant].id) ? "ok" : outOfScope;
    }
  }
}

/** Identifiers from outside the principal's scopes that appear in a body. */
function leaks(body: unknown, v: Variant, w: World): string[] {
  const text = typeof body === "string" ? body : JSON.stringify(body ?? "");
  const visible = new Set<string>();
  for (const s of v.visible) for (const id of w.scopes.get(s) ?? []) visible.add(id);
  const found: string[] = [];
  for (const [scope, ids] of w.scopes) {
    for (const id of ids) if (!visible.has(id) && text.includes(id)) found.push(`${scope}:${id}`);
  }
  return found;
}

/**
 * A subscription has no REST route: it is opened over SSE at /trpc/<path>. The first event says how
 * the guard decided: a data event ("ok") or a serialized error carrying the HTTP status it stands for.
 */
async function openSubscription(server: TestServer, path: string, input: Record<string, unknown>, headers: Record<string, string>): Promise<{ status: number | "ok"; body: unknown }> {
  const abort = new AbortController();
  const res = await fetch(`${server.url}/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers: { ...headers, accept: "text/event-stream" }, signal: abort.signal });
  if (!res.ok || !res.body) return { status: res.status, body: await res.text() };
  const decoder = new TextDecoder();
  let text = "";
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      for (const block of text.split("\n\n").slice(0, -1)) {
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (data === undefined || event === "connected" || event === "ping") continue;
        const body = JSON.parse(data);
        if (event === "serialized-error") return { status: body?.data?.httpStatus ?? 500, body };
        if (event === "message") return { status: "ok", body };
      }
    }
  } finally {
    abort.abort();
  }
  return { status: 500, body: text };
}

// ---------------------------------------------------------------------------------------------

const entries = contractEntries();

describe("authorization matrix: every operation can be exercised", () => {
  it("each operation's required input has a sample, and every sample names a real operation", () => {
    const ops = new Set(entries.map(([, d]) => d.meta.operationId));
    const missing = entries.filter(([, d]) => requiredBodyFields(d).length > 0 && !SAMPLES[d.meta.operationId]?.body).map(([, d]) => `${d.meta.operationId} (${requiredBodyFields(d).join(", ")})`);
    expect(missing, "add these operations to SAMPLES in authorization-matrix.test.ts").toEqual([]);
    expect(Object.keys(SAMPLES).filter((op) => !ops.has(op)), "SAMPLES for operations that no longer exist").toEqual([]);
    for (const [, d] of entries) for (const p of pathParams(d.meta.rest.path)) expect(() => refKindOf(d.meta.rest.path, p)).not.toThrow();
  });
});

for (const dialect of testDialects()) {
  const suite = dialect.enabled ? describe : describe.skip;
  suite(`authorization matrix [${dialect.dialect}]${dialect.enabled ? "" : ` (skipped: ${dialect.reason})`}`, () => {
    let server: TestServer;
    let peer: PushServicePeer;
    let world: World;
    let login: Account;

    beforeAll(async () => {
      server = await startServer(dialect.dialect as Dialect);
      peer = await startPushServicePeer();
      world = await buildWorld(server, peer);
      login = await registerAccount(server, "matrix-login");
    });
    afterAll(async () => {
      await peer?.close();
      await server?.close();
    });

    for (const [path, def] of entries) {
      const op = def.meta.operationId;
      it(`${op}: ${def.meta.rest.method} ${def.meta.rest.path}`, async () => {
        const sample = SAMPLES[op] ?? {};
        const isolate = sample.isolate ?? def.meta.rest.method !== "GET";
        const failures: string[] = [];
        let calls = 0;
        // Plan every cell first; allowed destructive calls get a world of their own (built concurrently),
        // so the shared one stays intact.
        const cells = VARIANTS.flatMap((v) =>
          sidesFor(def, world).map((side) => {
            const req = buildRequest(def, world, v.family, side, login, peer);
            return { v, side, req, expected: expectedOutcome(def, v, req, world) };
          }),
        );
        const isolated = cells.filter((c) => c.expected === "ok" && isolate);
        const worlds = await Promise.all(isolated.map(() => buildWorld(server, peer)));
        for (const cell of cells) {
          const { v, side, expected } = cell;
          const i = isolated.indexOf(cell);
          const w = i >= 0 ? worlds[i]! : world;
          const req = i >= 0 ? buildRequest(def, w, v.family, side, login, peer) : cell.req;
          const res = await call(server, req.method, req.path, { headers: await headersFor(v.credential, w), ...(req.body ? { body: req.body } : {}) });
          calls++;
          const want = expected === "ok" ? (sample.okStatus ?? def.meta.successStatus) : expected;
          const where = `${v.name} / ${side} → ${req.method} ${req.path}`;
          if (res.status !== want) failures.push(`${where}: expected ${want}, got ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
          if (res.status >= 400 && (res.body?.statusCode !== res.status || typeof res.body?.requestId !== "string")) failures.push(`${where}: not an error envelope`);
          const leaked = leaks(res.body, v, w);
          if (leaked.length > 0) failures.push(`${where}: leaks ${leaked.join(", ")}`);
        }
        expect(calls).toBeGreaterThanOrEqual(VARIANTS.length);
        expect(failures, `${path}: ${failures.length} cell(s) of the matrix disagree with SPEC §2`).toEqual([]);
      });
    }

    // Subscriptions (no REST route): the same reference model, over SSE. Reads only, on the shared world.
    for (const [path, sub] of subscriptionEntries()) {
      it(`${sub.meta.operationId}: subscription over SSE`, async () => {
        const def = sub as unknown as ProcedureDef & SubscriptionDef;
        const failures: string[] = [];
        const seen = new Set<number | "ok">();
        for (const v of VARIANTS) {
          for (const side of ["own", "foreign"] as const) {
            const refs = new Refs(world, v.family, side);
            const input = { campaignId: refs.pick(refKindOf(path, "campaignId")) };
            const expected = expectedOutcome(def, v, { method: "GET", path, refs: refs.list }, world);
            const res = await openSubscription(server, path, input, await headersFor(v.credential, world));
            seen.add(res.status);
            const where = `${v.name} / ${side} → ${path}`;
            if (res.status !== expected) failures.push(`${where}: expected ${expected}, got ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
            const leaked = leaks(res.body, v, world);
            if (leaked.length > 0) failures.push(`${where}: leaks ${leaked.join(", ")}`);
          }
        }
        expect(failures, `${path}: ${failures.length} cell(s) disagree with SPEC §2`).toEqual([]);
        // The model was exercised both ways: opened for some principals, refused (each way) for others.
        expect([...seen]).toEqual(expect.arrayContaining(["ok", 401, 403, 404]));
      });
    }

    it("both prefixes reach the same procedures: every operation answers the same at / and /api", async () => {
      const differences: string[] = [];
      for (const [, def] of entries) {
        // A read by an allowed principal must give identical bodies; anything else the same status and message.
        const v = VARIANTS.find((x) => expectedOutcome(def, x, buildRequest(def, world, x.family, "own", login, peer), world) === "ok");
        const credential = def.meta.rest.method === "GET" && v ? v : VARIANTS[0]!;
        const headers = await headersFor(credential.credential, world);
        // Built twice: bodies with unique values (a registration's email) must not collide.
        const req = buildRequest(def, world, credential.family, "own", login, peer);
        const req2 = buildRequest(def, world, credential.family, "own", login, peer);
        const a = await call(server, req.method, req.path, { headers, ...(req.body ? { body: req.body } : {}) });
        const b = await call(server, req2.method, `/api${req2.path}`, { headers, ...(req2.body ? { body: req2.body } : {}) });
        const strip = (x: any) => (x && typeof x === "object" && "requestId" in x ? { ...x, requestId: undefined } : x);
        const same = a.status === b.status && (a.status >= 400 || def.meta.rest.method !== "GET" || JSON.stringify(a.body) === JSON.stringify(b.body));
        if (!same || (a.status >= 400 && JSON.stringify(strip(a.body)) !== JSON.stringify(strip(b.body)))) {
          differences.push(`${def.meta.operationId}: / → ${a.status}, /api → ${b.status}`);
        }
        if (a.status === 404 && a.body?.message === "Route not found") differences.push(`${def.meta.operationId}: not routed at ${req.path}`);
      }
      expect(differences).toEqual([]);
      // Unknown paths are unknown under both.
      expect((await call(server, "GET", "/api/nope")).body.message).toBe("Route not found");
      expect((await call(server, "GET", "/api/trpc/auth.me")).status).toBe(404);
    });
  });
}
