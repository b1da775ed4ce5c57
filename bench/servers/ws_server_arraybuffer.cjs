// bench/servers/ws_server.cjs with `ws.binaryType = "arraybuffer"`: binary
// messages reach its handler as the ArrayBuffers that edgesocket's handlers
// get (WHATWG's and Hono's default), where ws's own default is a Buffer
// view of what it read.
"use strict";
process.env.EDGESOCKET_BENCH_WS_BINARY_TYPE = "arraybuffer";
require("./ws_server.cjs");
