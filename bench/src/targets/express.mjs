// Baseline 2: bare Express 5 (the framework ReachBell runs on), JSON hello, no middleware.
import express from "express";

const app = express();
app.get("/", (_req, res) => {
  res.json({ hello: "world" });
});
const server = app.listen(0, "127.0.0.1", () => process.send?.({ url: `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (server.address()).port}` }));
process.on("disconnect", () => process.exit(0));
