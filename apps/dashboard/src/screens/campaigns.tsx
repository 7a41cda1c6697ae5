import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { useId, useState } from "react";
import { downloadCampaignCsv } from "../download";
import { BASE } from "../navigation";
import { useRole } from "../role";
import { type Outputs, useTRPC } from "../trpc";
import { ApiError, Link, Loading, formatDate } from "../ui";

type Campaign = Outputs["campaigns"]["get"];
type Status = Campaign["status"];
const STATUSES: Status[] = ["draft", "scheduled", "sending", "paused", "sent", "cancelled"];

export function Campaigns({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const filterId = useId();
  const [status, setStatus] = useState<Status | "">("");
  const campaigns = useQuery(trpc.campaigns.list.queryOptions({ projectId, limit: 100, ...(status ? { status } : {}) }));
  return (
    <section aria-labelledby="campaigns">
      <h2 id="campaigns">Campaigns</h2>
      <div className="field inline">
        <label htmlFor={filterId}>Status</label>
        <select id={filterId} value={status} onChange={(e) => setStatus(e.target.value as Status | "")}>
          <option value="">all</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      {campaigns.isPending && <Loading />}
      <ApiError error={campaigns.error} />
      {campaigns.data && campaigns.data.data.length === 0 && <p>No campaigns{status ? ` with status ${status}` : ""}.</p>}
      {campaigns.data && campaigns.data.data.length > 0 && (
        <table>
          <caption className="sr-only">Campaigns</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Audience</th>
              <th scope="col">Delivered</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {campaigns.data.data.map((c) => (
              <tr key={c.id}>
                <td>
                  <Link to={`${BASE}/projects/${projectId}/campaigns/${c.id}`}>{c.name}</Link>
                </td>
                <td>{c.status}</td>
                <td>{c.stats.audience}</td>
                <td>{c.stats.delivered + c.stats.simulated}</td>
                <td>{formatDate(c.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const STAT_LABELS: [keyof Campaign["stats"], string][] = [
  ["audience", "Audience"],
  ["queued", "Queued"],
  ["sent", "Sent"],
  ["delivered", "Delivered"],
  ["simulated", "Simulated (sandbox)"],
  ["failed", "Failed"],
  ["expired", "Expired"],
  ["skipped", "Skipped"],
  ["displayed", "Displayed"],
  ["clicked", "Clicked"],
];

/** One campaign, kept current by the campaigns.progress subscription (SSE). */
export function CampaignDetail({ projectId, campaignId }: { projectId: string; campaignId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { can } = useRole();
  const campaignKey = trpc.campaigns.get.queryKey({ campaignId });
  const initial = useQuery(trpc.campaigns.get.queryOptions({ campaignId }));
  // Each item the subscription yields replaces the cached campaign: one source for the page, and the
  // last state stays on screen once the stream ends (useSubscription drops its data when it does).
  const live = useSubscription(trpc.campaigns.progress.subscriptionOptions({ campaignId }, { onData: (c) => queryClient.setQueryData(campaignKey, c) }));
  const [exportError, setExportError] = useState<{ message: string; requestId: string | null } | null>(null);
  const onChanged = (c: Campaign) => {
    queryClient.setQueryData(campaignKey, c);
    return queryClient.invalidateQueries({ queryKey: trpc.campaigns.list.queryKey() });
  };
  const pause = useMutation(trpc.campaigns.pause.mutationOptions({ onSuccess: onChanged }));
  const resume = useMutation(trpc.campaigns.resume.mutationOptions({ onSuccess: onChanged }));
  const cancel = useMutation(trpc.campaigns.cancel.mutationOptions({ onSuccess: onChanged }));
  const campaign = initial.data;
  const busy = pause.isPending || resume.isPending || cancel.isPending;

  return (
    <section aria-labelledby="campaign">
      <p>
        <Link to={`${BASE}/projects/${projectId}/campaigns`}>← Campaigns</Link>
      </p>
      {initial.isPending && <Loading />}
      <ApiError error={initial.error ?? pause.error ?? resume.error ?? cancel.error} />
      {live.status === "error" && <ApiError error={live.error} />}
      {campaign && (
        <>
          <h2 id="campaign">{campaign.name}</h2>
          <p>
            Status: <strong data-testid="campaign-status">{campaign.status}</strong>{" "}
            <span className="muted" data-testid="live-status">{live.status === "pending" ? "(updating live)" : live.status === "connecting" ? "(connecting…)" : ""}</span>
          </p>
          <p>
            <strong>{campaign.content.title}</strong> — {campaign.content.body}
          </p>
          <dl className="stats" aria-label="Progress">
            {STAT_LABELS.map(([k, label]) => (
              <div key={k}>
                <dt>{label}</dt>
                <dd data-testid={`stat-${k}`}>{campaign.stats[k]}</dd>
              </div>
            ))}
          </dl>
          <div className="actions">
            {can("MEMBER") && campaign.status === "sending" && (
              <button type="button" disabled={busy} onClick={() => pause.mutate({ campaignId })}>
                Pause
              </button>
            )}
            {can("MEMBER") && campaign.status === "paused" && (
              <button type="button" disabled={busy} onClick={() => resume.mutate({ campaignId })}>
                Resume
              </button>
            )}
            {can("MEMBER") && !["sent", "cancelled"].includes(campaign.status) && (
              <button type="button" className="danger" disabled={busy} onClick={() => cancel.mutate({ campaignId })}>
                Cancel campaign
              </button>
            )}
            <button type="button" onClick={() => downloadCampaignCsv(campaignId).then((r) => setExportError(r.ok ? null : r))}>
              Export results (CSV)
            </button>
          </div>
          {exportError && (
            <div role="alert" className="error">
              <p>{exportError.message}</p>
              {exportError.requestId && (
                <p className="muted">
                  Request ID: <code>{exportError.requestId}</code>
                </p>
              )}
            </div>
          )}
        </>
      )}
    </section>
  );
}
