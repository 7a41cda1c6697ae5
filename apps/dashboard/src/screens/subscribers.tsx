import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { useRole } from "../role";
import { type Outputs, useTRPC } from "../trpc";
import { ApiError, ConfirmButton, Field, Loading, formatDate } from "../ui";

type Status = Outputs["subscribers"]["get"]["status"];

/** A project's subscribers, filtered by status and tag, a page at a time (cursor). */
export function Subscribers({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { can } = useRole();
  const statusId = useId();
  const [status, setStatus] = useState<Status | "">("");
  const [tagInput, setTagInput] = useState("");
  const [tag, setTag] = useState("");
  const input = { projectId, limit: 50, ...(status ? { status } : {}), ...(tag ? { tag } : {}) };
  const subscribers = useInfiniteQuery(trpc.subscribers.list.infiniteQueryOptions(input, { getNextPageParam: (last) => last.nextCursor ?? undefined }));
  const unsubscribe = useMutation(trpc.subscribers.unsubscribe.mutationOptions({ onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.subscribers.list.infiniteQueryKey() }) }));
  const rows = subscribers.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <section aria-labelledby="subscribers">
      <h2 id="subscribers">Subscribers</h2>
      <form
        className="row"
        aria-label="Filter subscribers"
        onSubmit={(e) => {
          e.preventDefault();
          setTag(tagInput.trim());
        }}
      >
        <div className="field">
          <label htmlFor={statusId}>Status</label>
          <select id={statusId} value={status} onChange={(e) => setStatus(e.target.value as Status | "")}>
            <option value="">all</option>
            <option value="active">active</option>
            <option value="unsubscribed">unsubscribed</option>
            <option value="expired">expired</option>
          </select>
        </div>
        <Field label="Tag" name="tag" value={tagInput} onChange={setTagInput} />
        <div className="field">
          <span aria-hidden="true">&nbsp;</span>
          <button type="submit">Filter</button>
        </div>
      </form>
      {subscribers.isPending && <Loading />}
      <ApiError error={subscribers.error ?? unsubscribe.error} />
      {subscribers.data && rows.length === 0 && <p>No subscribers{status || tag ? " match these filters" : " yet"}.</p>}
      {rows.length > 0 && (
        <table>
          <caption className="sr-only">Subscribers</caption>
          <thead>
            <tr>
              <th scope="col">Subscriber</th>
              <th scope="col">Status</th>
              <th scope="col">User id</th>
              <th scope="col">Tags</th>
              <th scope="col">Browser</th>
              <th scope="col">Last seen</th>
              {can("MEMBER") && <th scope="col">Unsubscribe</th>}
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => (
              <tr key={s.id}>
                <td>
                  <code>{s.id}</code>
                </td>
                <td>{s.status}</td>
                <td>{s.externalId ?? "—"}</td>
                <td>{s.tags.join(", ") || "—"}</td>
                <td>{[s.browser, s.os, s.deviceType].filter(Boolean).join(" · ") || "—"}</td>
                <td>{formatDate(s.lastSeenAt)}</td>
                {can("MEMBER") && (
                  <td>
                    {s.status === "active" && (
                      <ConfirmButton label={`Unsubscribe ${s.id}`} question="Unsubscribe this subscriber?" confirmLabel="Yes, unsubscribe" onConfirm={() => unsubscribe.mutate({ id: s.id })} disabled={unsubscribe.isPending} />
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {subscribers.hasNextPage && (
        <button type="button" onClick={() => subscribers.fetchNextPage()} disabled={subscribers.isFetchingNextPage}>
          Load more
        </button>
      )}
    </section>
  );
}
