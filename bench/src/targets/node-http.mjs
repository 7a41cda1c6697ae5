// Baseline 1: the floor of any Node HTTP server on this machine, a raw node:http JSON hello.
import http from "node:http";

const body = JSON.stringify({ hello: "world" });
const server = http.createServer((_req, res) => {
  res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
  res.end(body);
});
server.listen(0, "127.0.0.1", () => process.send?.({ url: `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (server.address()).port}` }));
process.on("disconnect", () => process.exit(0));
