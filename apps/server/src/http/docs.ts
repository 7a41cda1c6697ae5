import express, { type Router } from "express";
import { getAbsoluteFSPath } from "swagger-ui-dist";

// The interactive playground: Swagger UI served from the npm package itself (nothing from a CDN).
// Its Authorize panel offers the Bearer and x-api-key schemes of /openapi.json.

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>ReachBell API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body></html>`;

const INIT = `window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", persistAuthorization: true, deepLinking: true });`;

export function docsRouter(): Router {
  const r = express.Router();
  r.get("/docs", (_req, res) => {
    res.type("html").send(PAGE);
  });
  r.get("/docs/init.js", (_req, res) => {
    res.type("application/javascript").send(INIT);
  });
  r.use("/docs/assets", express.static(getAbsoluteFSPath(), { index: false, fallthrough: false }));
  return r;
}
