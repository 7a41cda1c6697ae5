import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useRole } from "../role";
import { type Outputs, useTRPC } from "../trpc";
import { ApiError, ConfirmButton, Field, Loading, formatDate } from "../ui";

export function ApiKeys({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { can } = useRole();
  const keys = useQuery(trpc.apiKeys.list.queryOptions({ projectId, limit: 100 }));
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.apiKeys.list.queryKey() });
  const revoke = useMutation(trpc.apiKeys.revoke.mutationOptions({ onSuccess: refresh }));
  return (
    <section aria-labelledby="keys">
      <h2 id="keys">API keys</h2>
      {can("ADMIN") && <NewKey projectId={projectId} onCreated={refresh} />}
      {keys.isPending && <Loading />}
      <ApiError error={keys.error ?? revoke.error} />
      {keys.data && keys.data.data.length === 0 && <p>No API keys yet.</p>}
      {keys.data && keys.data.data.length > 0 && (
        <table>
          <caption className="sr-only">API keys</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Key</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {keys.data.data.map((k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td>
                  <code>{k.display}</code>
                </td>
                <td>{formatDate(k.createdAt)}</td>
                <td>{formatDate(k.lastUsedAt)}</td>
                <td>
                  {k.revokedAt ? (
                    `revoked ${formatDate(k.revokedAt)}`
                  ) : can("ADMIN") ? (
                    <ConfirmButton label={`Revoke ${k.name}`} question={`Revoke ${k.name}? It stops working at once.`} confirmLabel="Yes, revoke" onConfirm={() => revoke.mutate({ projectId, keyId: k.id })} disabled={revoke.isPending} />
                  ) : (
                    "active"
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function NewKey({ projectId, onCreated }: { projectId: string; onCreated: () => void }) {
  const trpc = useTRPC();
  const [name, setName] = useState("");
  const [created, setCreated] = useState<Outputs["apiKeys"]["create"] | null>(null);
  const create = useMutation(
    trpc.apiKeys.create.mutationOptions({
      onSuccess: (key) => {
        setCreated(key);
        setName("");
        onCreated();
      },
    }),
  );
  return (
    <div className="panel">
      <form
        aria-label="New API key"
        onSubmit={(e) => {
          e.preventDefault();
          setCreated(null);
          create.mutate({ projectId, name });
        }}
      >
        <Field label="Key name" name="keyName" value={name} onChange={setName} required hint="e.g. backend, website" />
        <ApiError error={create.error} />
        <button type="submit" disabled={create.isPending}>
          Create API key
        </button>
      </form>
      {created && <NewKeyShown apiKey={created.key} onDismiss={() => setCreated(null)} />}
    </div>
  );
}

/** The full key, this once: the server keeps only its hash. */
function NewKeyShown({ apiKey, onDismiss }: { apiKey: string; onDismiss: () => void }) {
  const [copied, setCopied] = useState<"yes" | "failed" | null>(null);
  return (
    <div className="panel notice" role="region" aria-label="New API key">
      <p>
        <strong>Copy this key now.</strong> It is shown only once.
      </p>
      <p>
        <code data-testid="new-key">{apiKey}</code>
      </p>
      <button
        type="button"
        onClick={() =>
          navigator.clipboard.writeText(apiKey).then(
            () => setCopied("yes"),
            () => setCopied("failed"),
          )
        }
      >
        Copy key
      </button>{" "}
      <button type="button" onClick={onDismiss}>
        Done
      </button>
      <span role="status">{copied === "yes" ? " Copied." : copied === "failed" ? " Copy failed: select the key and copy it." : ""}</span>
    </div>
  );
}
