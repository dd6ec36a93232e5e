// Preloaded into wrangler's Node process (`node --require`, through
// NODE_OPTIONS: scripts/wrangler-env.mjs) by `npm run dev`, the tests and
// the benchmarks: the HTTP servers that process makes keep idle
// keep-alive connections open instead of closing them after Node's
// default 5 s.
//
// Why: workerd reaches wrangler's Node process over one such connection
// (Miniflare's "loopback"), among other things to log each queue batch's
// outcome. When a Worker holds workerd's thread for seconds (an OCR page,
// a large PDF), Node closes the idle connection meanwhile; workerd, once
// free, sends the broker's log call down the connection it has not yet
// seen closed, and the call fails with "Network connection lost".
// Miniflare's queue broker awaits that call before it clears its pending
// flush, so the failure stops every later delivery of the queue until the
// runtime restarts: jobs stay `queued` for good (docs/OPERATIONS.md, "The
// local broker that stopped dispatching"). A connection the server never
// closes cannot race that way; workerd closes its own idle ones.
"use strict";
const http = require("node:http");

const createServer = http.createServer;
http.createServer = function quireCreateServer(...args) {
  const server = createServer.apply(this, args);
  server.keepAliveTimeout = 0; // 0: no idle timeout for keep-alive sockets
  return server;
};
