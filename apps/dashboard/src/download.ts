import { authHeaders } from "./session";
import { sessionExpired } from "./trpc";

// The CSV export is a streamed download served outside tRPC (the server's http/campaign-export.ts),
// and a plain link cannot carry the Authorization header: fetch it with the session's headers and
// hand the file to the browser. The only request of the dashboard not made by the tRPC client.

export async function downloadCampaignCsv(campaignId: string): Promise<{ ok: true } | { ok: false; message: string; requestId: string | null }> {
  const res = await fetch(`/campaigns/${encodeURIComponent(campaignId)}/export`, { headers: authHeaders() });
  if (res.status === 401) sessionExpired();
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { message?: string; requestId?: string } | null;
    return { ok: false, message: body?.message ?? `Export failed (HTTP ${res.status})`, requestId: body?.requestId ?? res.headers.get("x-request-id") };
  }
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = `campaign-${campaignId}.csv`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return { ok: true };
}
