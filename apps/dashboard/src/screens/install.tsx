import { useState } from "react";
import { BASE } from "../navigation";
import type { Outputs } from "../trpc";
import { Link } from "../ui";

/** How a site adds the SDK: the script tag served by this server, and the worker file for its root. */
export function Install({ project }: { project: Outputs["projects"]["get"] }) {
  const origin = location.origin;
  const prefix = project.environment === "live" ? "rb_live_" : "rb_test_";
  const script = `<script src="${origin}/sdk/reachbell.js"></script>
<script>
  ReachBell.init({ apiKey: "${prefix}…", apiUrl: "${origin}" });
  // Ask for permission from a user gesture, e.g. a "Get notifications" button:
  // document.querySelector("#notify").onclick = () => ReachBell.prompt();
</script>`;
  return (
    <section aria-labelledby="install">
      <h2 id="install">Install the SDK</h2>
      <ol className="steps">
        <li>
          <p>
            Create an API key for this project (<Link to={`${BASE}/projects/${project.id}/keys`}>API keys</Link>) and put it in place of <code>{prefix}…</code>.
          </p>
        </li>
        <li>
          <p>Add this to your pages:</p>
          <Snippet label="Script tag" text={script} />
        </li>
        <li>
          <p>
            Host the service worker at your site's root as <code>/reachbell-sw.js</code>: download <a href={`${origin}/sdk/reachbell-sw.js`}>{`${origin}/sdk/reachbell-sw.js`}</a> and serve it
            from your own origin (browsers only run workers from the page's origin).
          </p>
          <Snippet label="Worker file" text={`curl -o public/reachbell-sw.js ${origin}/sdk/reachbell-sw.js`} />
        </li>
      </ol>
    </section>
  );
}

function Snippet({ label, text }: { label: string; text: string }) {
  const [copied, setCopied] = useState<string>("");
  return (
    <figure className="snippet">
      <figcaption>{label}</figcaption>
      <pre tabIndex={0}>
        <code>{text}</code>
      </pre>
      <button
        type="button"
        onClick={() =>
          navigator.clipboard.writeText(text).then(
            () => setCopied("Copied."),
            () => setCopied("Copy failed: select the text and copy it."),
          )
        }
      >
        Copy {label.toLowerCase()}
      </button>
      <span role="status"> {copied}</span>
    </figure>
  );
}
