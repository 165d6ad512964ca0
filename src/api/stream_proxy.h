// Between a hijacked client connection (attach, exec start) and a
// process's attach stream from its shim: bytes both ways until the
// process's output ends or the client goes.
//
// Usage (in a handler):
//   auto conn = BERTH_TRY(res.hijack("application/vnd.docker.raw-stream"));
//   auto stream = BERTH_TRY(engine.attach(id, [&] { return peer_closed(conn.fd); }));
//   proxy_stream(conn.fd, std::move(conn.pending), stream.fd.get(), opts);
#pragma once

#include <string>

namespace berth::api {

struct ProxyOptions {
  bool forward_stdin = true;  // false: client input is read and dropped
  // Docker's detach keys (already parsed to bytes, e.g. "\x10\x11" for
  // ctrl-p,ctrl-q): seen in the client's input, the stream ends and the
  // process keeps running. Empty: none.
  std::string detach_keys;
};

// Client EOF (the CLI half-closes when its stdin ends) half-closes the
// stream, which closes the process's stdin where it was asked to; the
// process's output keeps flowing. Stream EOF half-closes the client and
// returns. A client that closes both ways ends the proxy at once.
void proxy_stream(int client_fd, std::string pending, int stream_fd, const ProxyOptions& opts = {});

// Wait (at most `limit_ms`) until the client has read what was sent on
// `client_fd` (the 101 answer of a hijack): a client that reads the
// answer's head through a buffer and the stream from the socket beneath it
// (docker-py) loses stream bytes that arrive together with the head.
void wait_until_read(int client_fd, int limit_ms);

// The client closed its connection completely (not just its write side):
// what a hijacked request waits on while the container is not started.
bool peer_closed(int fd);

// "ctrl-p,ctrl-q" → "\x10\x11"; InvalidArgument text as Docker's when malformed.
bool parse_detach_keys(std::string_view spec, std::string* out);

}  // namespace berth::api
