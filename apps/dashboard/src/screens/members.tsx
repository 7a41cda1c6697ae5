import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { type Role, useRole } from "../role";
import { useTRPC } from "../trpc";
import { ApiError, ConfirmButton, Field, Loading } from "../ui";

const ROLES: Role[] = ["OWNER", "ADMIN", "MEMBER", "VIEWER"];

/** Members of the current organization; only an OWNER adds, changes roles or removes. */
export function Members({ orgId }: { orgId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { can } = useRole();
  const owner = can("OWNER");
  const members = useQuery(trpc.members.list.queryOptions({ orgId, limit: 100 }));
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.members.list.queryKey() });
  const update = useMutation(trpc.members.update.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(trpc.members.remove.mutationOptions({ onSuccess: refresh }));
  return (
    <>
      <h1>Members</h1>
      {owner && <AddMember orgId={orgId} onAdded={refresh} />}
      {members.isPending && <Loading />}
      <ApiError error={members.error ?? update.error ?? remove.error} />
      {members.data && (
        <table>
          <caption className="sr-only">Members</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              {owner && <th scope="col">Remove</th>}
            </tr>
          </thead>
          <tbody>
            {members.data.data.map((m) => (
              <tr key={m.id}>
                <td>{m.name}</td>
                <td>{m.email}</td>
                <td>
                  {owner ? (
                    <select aria-label={`Role of ${m.email}`} value={m.role} disabled={update.isPending} onChange={(e) => update.mutate({ orgId, memberId: m.id, role: e.target.value as Role })}>
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </select>
                  ) : (
                    m.role
                  )}
                </td>
                {owner && (
                  <td>
                    <ConfirmButton label={`Remove ${m.email}`} question={`Remove ${m.email} from this organization?`} confirmLabel="Yes, remove" onConfirm={() => remove.mutate({ orgId, memberId: m.id })} disabled={remove.isPending} />
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function AddMember({ orgId, onAdded }: { orgId: string; onAdded: () => void }) {
  const trpc = useTRPC();
  const roleId = useId();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("MEMBER");
  const add = useMutation(
    trpc.members.add.mutationOptions({
      onSuccess: () => {
        setEmail("");
        onAdded();
      },
    }),
  );
  return (
    <section className="panel" aria-labelledby="add-member">
      <h2 id="add-member">Add a member</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          add.mutate({ orgId, email, role });
        }}
      >
        <Field label="Email of an existing user" name="memberEmail" type="email" value={email} onChange={setEmail} required />
        <div className="field">
          <label htmlFor={roleId}>Role</label>
          <select id={roleId} value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
        <ApiError error={add.error} />
        <button type="submit" disabled={add.isPending}>
          Add member
        </button>
      </form>
    </section>
  );
}
