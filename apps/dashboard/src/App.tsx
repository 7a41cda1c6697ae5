import { useEffect } from "react";
import { BASE, match, navigate, useLocation } from "./navigation";
import { useSession } from "./role";
import { ApiKeys } from "./screens/api-keys";
import { Login, Signup } from "./screens/auth";
import { CampaignDetail, Campaigns } from "./screens/campaigns";
import { Install } from "./screens/install";
import { Members } from "./screens/members";
import { Subscribers } from "./screens/subscribers";
import { ProjectFrame, ProjectSettings, Projects } from "./screens/projects";
import { Shell } from "./screens/shell";

const PUBLIC = new Set([`${BASE}/login`, `${BASE}/signup`]);

export function App() {
  const path = useLocation();
  const s = useSession();
  const bare = path.split("?")[0]!.replace(/\/$/, "");
  const isPublic = PUBLIC.has(bare);

  useEffect(() => {
    // Signed out on a private page: log in first, then come back here.
    if (!s && !isPublic) navigate(`${BASE}/login?next=${encodeURIComponent(path)}`, { replace: true });
    else if (s && (bare === BASE || bare === "")) navigate(`${BASE}/projects`, { replace: true });
  }, [s, isPublic, path, bare]);

  useEffect(() => {
    document.title = `${titleOf(bare)} · ReachBell`;
  }, [bare]);

  if (bare === `${BASE}/login`) return <Login />;
  if (bare === `${BASE}/signup`) return <Signup />;
  if (!s) return null;
  return <Shell>{route(bare, s.orgId)}</Shell>;
}

function route(path: string, orgId: string | null) {
  if (path === `${BASE}/projects`) return <Projects />;
  if (path === `${BASE}/members`) return orgId ? <Members key={orgId} orgId={orgId} /> : null;
  let m = match(`${BASE}/projects/:projectId`, path);
  if (m) return <ProjectFrame projectId={m.projectId!} tab="">{(p) => <ProjectSettings key={p.id} project={p} />}</ProjectFrame>;
  if ((m = match(`${BASE}/projects/:projectId/keys`, path))) return <ProjectFrame projectId={m.projectId!} tab="/keys">{(p) => <ApiKeys projectId={p.id} />}</ProjectFrame>;
  if ((m = match(`${BASE}/projects/:projectId/subscribers`, path))) return <ProjectFrame projectId={m.projectId!} tab="/subscribers">{(p) => <Subscribers projectId={p.id} />}</ProjectFrame>;
  if ((m = match(`${BASE}/projects/:projectId/campaigns`, path))) return <ProjectFrame projectId={m.projectId!} tab="/campaigns">{(p) => <Campaigns projectId={p.id} />}</ProjectFrame>;
  if ((m = match(`${BASE}/projects/:projectId/campaigns/:campaignId`, path)))
    return <ProjectFrame projectId={m.projectId!} tab="/campaigns">{(p) => <CampaignDetail projectId={p.id} campaignId={m!.campaignId!} />}</ProjectFrame>;
  if ((m = match(`${BASE}/projects/:projectId/install`, path))) return <ProjectFrame projectId={m.projectId!} tab="/install">{(p) => <Install project={p} />}</ProjectFrame>;
  return (
    <>
      <h1>Page not found</h1>
      <p>There is no dashboard page at this address.</p>
    </>
  );
}

function titleOf(path: string): string {
  if (path.endsWith("/login")) return "Log in";
  if (path.endsWith("/signup")) return "Sign up";
  if (path.includes("/campaigns")) return "Campaigns";
  if (path.endsWith("/keys")) return "API keys";
  if (path.endsWith("/install")) return "Install";
  if (path.endsWith("/members")) return "Members";
  if (path.endsWith("/subscribers")) return "Subscribers";
  return "Projects";
}
