import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type ReactNode, useId, useState } from "react";
import { BASE } from "../navigation";
import { useRole } from "../role";
import { type Outputs, useTRPC } from "../trpc";
import { ApiError, Field, Link, Loading } from "../ui";

type Project = Outputs["projects"]["get"];

export function Projects() {
  const trpc = useTRPC();
  const { can } = useRole();
  const projects = useQuery(trpc.projects.list.queryOptions({ limit: 100 }));
  return (
    <>
      <h1>Projects</h1>
      {projects.isPending && <Loading />}
      <ApiError error={projects.error} />
      {projects.data && projects.data.data.length === 0 && <p>No projects yet.</p>}
      {projects.data && projects.data.data.length > 0 && (
        <table>
          <caption className="sr-only">Projects</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Environment</th>
              <th scope="col">Time zone</th>
            </tr>
          </thead>
          <tbody>
            {projects.data.data.map((p) => (
              <tr key={p.id}>
                <td>
                  <Link to={`${BASE}/projects/${p.id}`}>{p.name}</Link>
                </td>
                <td>{p.environment}</td>
                <td>{p.timezone}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {can("ADMIN") && <NewProject />}
    </>
  );
}

function NewProject() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const envId = useId();
  const [name, setName] = useState("");
  const [environment, setEnvironment] = useState<"live" | "sandbox">("live");
  const create = useMutation(
    trpc.projects.create.mutationOptions({
      onSuccess: () => {
        setName("");
        return queryClient.invalidateQueries({ queryKey: trpc.projects.list.queryKey() });
      },
    }),
  );
  return (
    <section className="panel" aria-labelledby="new-project">
      <h2 id="new-project">New project</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate({ name, environment });
        }}
      >
        <Field label="Project name" name="projectName" value={name} onChange={setName} required />
        <div className="field">
          <label htmlFor={envId}>Environment</label>
          <select id={envId} value={environment} onChange={(e) => setEnvironment(e.target.value as "live" | "sandbox")}>
            <option value="live">live (rb_live_ keys)</option>
            <option value="sandbox">sandbox (rb_test_ keys, never sends)</option>
          </select>
        </div>
        <ApiError error={create.error} />
        <button type="submit" disabled={create.isPending}>
          Create project
        </button>
      </form>
    </section>
  );
}

const TABS = [
  ["", "Settings"],
  ["/keys", "API keys"],
  ["/subscribers", "Subscribers"],
  ["/campaigns", "Campaigns"],
  ["/install", "Install"],
] as const;

/** A project's page: its tabs around one screen. */
export function ProjectFrame({ projectId, tab, children }: { projectId: string; tab: string; children: (project: Project) => ReactNode }) {
  const trpc = useTRPC();
  const project = useQuery(trpc.projects.get.queryOptions({ projectId }));
  return (
    <>
      <p>
        <Link to={`${BASE}/projects`}>← Projects</Link>
      </p>
      {project.isPending && <Loading />}
      <ApiError error={project.error} />
      {project.data && (
        <>
          <h1>
            {project.data.name} <span className="badge">{project.data.environment}</span>
          </h1>
          <nav aria-label="Project">
            <ul className="tabs">
              {TABS.map(([path, label]) => (
                <li key={path}>
                  <Link to={`${BASE}/projects/${projectId}${path}`} className={tab === path ? "active" : undefined}>
                    {label}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
          {children(project.data)}
        </>
      )}
    </>
  );
}

/** Name, time zone and delivery policy (quiet hours, frequency cap) as projects.update takes them. */
export function ProjectSettings({ project }: { project: Project }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { can } = useRole();
  const readOnly = !can("ADMIN");
  const policy = project.deliveryPolicy;
  const [name, setName] = useState(project.name);
  const [timezone, setTimezone] = useState(project.timezone);
  const [quiet, setQuiet] = useState({ on: policy.quietHours !== null, start: policy.quietHours?.start ?? "22:00", end: policy.quietHours?.end ?? "08:00" });
  const [cap, setCap] = useState({ on: policy.frequencyCap !== null, max: String(policy.frequencyCap?.max ?? 3), windowSeconds: String(policy.frequencyCap?.windowSeconds ?? 86_400) });
  const update = useMutation(
    trpc.projects.update.mutationOptions({
      onSuccess: (p) => {
        queryClient.setQueryData(trpc.projects.get.queryKey({ projectId: p.id }), p);
        return queryClient.invalidateQueries({ queryKey: trpc.projects.list.queryKey() });
      },
    }),
  );
  return (
    <section aria-labelledby="settings">
      <h2 id="settings">Settings</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          update.mutate({
            projectId: project.id,
            name,
            timezone,
            deliveryPolicy: {
              quietHours: quiet.on ? { start: quiet.start, end: quiet.end } : null,
              frequencyCap: cap.on ? { max: Number(cap.max), windowSeconds: Number(cap.windowSeconds) } : null,
            },
          });
        }}
      >
        <fieldset disabled={readOnly}>
          <Field label="Project name" name="name" value={name} onChange={setName} required />
          <Field label="Time zone" name="timezone" value={timezone} onChange={setTimezone} hint="IANA name, e.g. Europe/Paris: quiet hours use it when a subscriber's is unknown" required />
          <fieldset>
            <legend>Quiet hours</legend>
            <label className="check">
              <input type="checkbox" checked={quiet.on} onChange={(e) => setQuiet({ ...quiet, on: e.target.checked })} /> No pushes during quiet hours
            </label>
            {quiet.on && (
              <div className="row">
                <Field label="From" name="quietStart" type="time" value={quiet.start} onChange={(v) => setQuiet({ ...quiet, start: v })} required />
                <Field label="Until" name="quietEnd" type="time" value={quiet.end} onChange={(v) => setQuiet({ ...quiet, end: v })} required />
              </div>
            )}
          </fieldset>
          <fieldset>
            <legend>Frequency cap</legend>
            <label className="check">
              <input type="checkbox" checked={cap.on} onChange={(e) => setCap({ ...cap, on: e.target.checked })} /> Limit pushes per subscriber
            </label>
            {cap.on && (
              <div className="row">
                <Field label="At most (pushes)" name="capMax" type="number" value={cap.max} onChange={(v) => setCap({ ...cap, max: v })} required />
                <Field label="Per (seconds)" name="capWindow" type="number" value={cap.windowSeconds} onChange={(v) => setCap({ ...cap, windowSeconds: v })} hint="60 to 2592000 (30 days)" required />
              </div>
            )}
          </fieldset>
        </fieldset>
        <ApiError error={update.error} />
        {update.isSuccess && <p role="status">Settings saved.</p>}
        {!readOnly && (
          <button type="submit" disabled={update.isPending}>
            Save settings
          </button>
        )}
      </form>
    </section>
  );
}
