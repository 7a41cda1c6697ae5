import { projectWithKey, registerSub } from "./project-fixtures";
import { type Account, type TestServer, call } from "./support";

// A sandbox project with a subscriber and one message sent to it (simulated: nothing leaves the
// process), for the engagement-event suites.

export async function messageToSubscriber(server: TestServer, owner: Account) {
  const { apiKey, projectId } = await projectWithKey(server, owner, { environment: "sandbox" });
  const sub = await registerSub(server, apiKey);
  const sent = await call(server, "POST", "/transactional/send", { apiKey, body: { token: sub.token, title: "Hi", body: "There" } });
  if (sent.status !== 200 || !sent.body.messageId) throw new Error(`send: ${sent.status} ${JSON.stringify(sent.body)}`);
  return { apiKey, projectId, sub, messageId: sent.body.messageId as string };
}

export async function messageRow(server: TestServer, id: string) {
  return server.database.db.selectFrom("messages").select(["displayedAt", "clickedAt", "status"]).where("id", "=", id).executeTakeFirstOrThrow();
}

export async function lastSeenAt(server: TestServer, subscriberId: string) {
  return (await server.database.db.selectFrom("subscribers").select("lastSeenAt").where("id", "=", subscriberId).executeTakeFirstOrThrow()).lastSeenAt;
}

export async function ageLastSeen(server: TestServer, subscriberId: string, iso = "2020-01-01T00:00:00.000Z") {
  await server.database.db.updateTable("subscribers").set({ lastSeenAt: iso }).where("id", "=", subscriberId).execute();
}
