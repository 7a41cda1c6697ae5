import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type ReactNode, useId, useState } from "react";
import { BASE, navigate } from "../navigation";
import { useMe, useSession } from "../role";
import { session } from "../session";
import { useTRPC } from "../trpc";
import { ApiError, Field, Link } from "../ui";

/** The signed-in frame: organization switcher, new organization, log out. */
export function Shell({ children }: { children: ReactNode }) {
  const me = useMe();
  const s = useSession();
  const queryClient = useQueryClient();
  const switchId = useId();
  const [creating, setCreating] = useState(false);

  const switchTo = (orgId: string) => {
    // Every cached answer belongs to the previous organization (x-org-id): drop them all.
    queryClient.clear();
    session.setOrg(orgId);
    navigate(`${BASE}/projects`);
  };
  const logOut = () => {
    queryClient.clear();
    session.clear();
    navigate(`${BASE}/login`, { replace: true });
  };

  return (
    <>
      <header className="top">
        <Link to={`${BASE}/projects`} className="brand">
          ReachBell
        </Link>
        {me.data && (
          <div className="org">
            <label htmlFor={switchId}>Organization</label>
            <select id={switchId} value={s?.orgId ?? ""} onChange={(e) => switchTo(e.target.value)}>
              {me.data.organizations.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name} ({o.role.toLowerCase()})
                </option>
              ))}
            </select>
            <button type="button" onClick={() => setCreating((c) => !c)} aria-expanded={creating}>
              New organization
            </button>
          </div>
        )}
        <nav aria-label="Main">
          <ul className="tabs plain">
            <li>
              <Link to={`${BASE}/projects`}>Projects</Link>
            </li>
            <li>
              <Link to={`${BASE}/members`}>Members</Link>
            </li>
          </ul>
        </nav>
        <span className="spacer" />
        {me.data && <span className="muted">{me.data.email}</span>}
        <button type="button" onClick={logOut}>
          Log out
        </button>
      </header>
      {creating && <NewOrganization onDone={(id) => (setCreating(false), switchTo(id))} />}
      <ApiError error={me.error} />
      <main>{children}</main>
    </>
  );
}

function NewOrganization({ onDone }: { onDone: (orgId: string) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const create = useMutation(
    trpc.organizations.create.mutationOptions({
      onSuccess: async (org) => {
        await queryClient.invalidateQueries({ queryKey: trpc.auth.me.queryKey() });
        onDone(org.id);
      },
    }),
  );
  return (
    <section className="panel" aria-label="New organization">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate({ name });
        }}
      >
        <Field label="Organization name" name="orgName" value={name} onChange={setName} required />
        <ApiError error={create.error} />
        <button type="submit" disabled={create.isPending}>
          Create organization
        </button>
      </form>
    </section>
  );
}
