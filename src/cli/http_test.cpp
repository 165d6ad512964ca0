#include "cli/http.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <thread>

namespace berth::cli {
namespace {

TEST(ResponseHead, Parses) {
  auto h = parse_response_head("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                               "Connection:Upgrade\r\nUpgrade:  tcp \r\n\r\n");
  ASSERT_TRUE(h.ok()) << h.error().message();
  EXPECT_EQ(h->status, 101);
  EXPECT_EQ(h->reason, "UPGRADED");
  EXPECT_EQ(h->headers["content-type"], "application/vnd.docker.raw-stream");
  EXPECT_EQ(h->headers["connection"], "Upgrade");
  EXPECT_EQ(h->headers["upgrade"], "tcp");
}

TEST(ResponseHead, NoReason) {
  auto h = parse_response_head("HTTP/1.0 204\r\n\r\n");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->status, 204);
}

TEST(ResponseHead, Rejects) {
  for (const char* bad : {"", "HTTP/1.1 200 OK", "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n",
                          "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "SSH-2.0-x\r\n\r\n"}) {
    EXPECT_FALSE(parse_response_head(bad).ok()) << bad;
  }
}

TEST(Chunked, WholeAndByteByByte) {
  const std::string body = "4\r\nWiki\r\n6;ext=1\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\n";
  ChunkedDecoder whole;
  std::string out;
  auto used = whole.feed(body, out);
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, body.size());
  EXPECT_TRUE(whole.done());
  EXPECT_EQ(out, "Wikipedia in \r\n\r\nchunks.");

  ChunkedDecoder bytes;
  std::string out2;
  for (char c : body) ASSERT_TRUE(bytes.feed(std::string_view(&c, 1), out2).ok());
  EXPECT_TRUE(bytes.done());
  EXPECT_EQ(out2, out);
}

TEST(Chunked, StopsAtTheEnd) {
  ChunkedDecoder d;
  std::string out;
  auto used = d.feed("1\r\na\r\n0\r\n\r\nEXTRA", out);
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, 11u);  // up to the blank line after the last chunk
  EXPECT_EQ(out, "a");
}

TEST(Chunked, BadSize) {
  ChunkedDecoder d;
  std::string out;
  EXPECT_FALSE(d.feed("zz\r\n", out).ok());
  ChunkedDecoder d2;
  EXPECT_FALSE(d2.feed("1\r\nab\r\n", out).ok());
}

// A BodyStream over a socketpair: each body shape, fed in small writes.
std::string read_body(const std::string& raw_head, const std::string& rest) {
  int sv[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  std::thread writer([&] {
    for (size_t i = 0; i < rest.size(); i += 3) {
      auto n = ::write(sv[1], rest.data() + i, std::min<size_t>(3, rest.size() - i));
      (void)n;
    }
    ::close(sv[1]);
  });
  auto head = parse_response_head(raw_head);
  EXPECT_TRUE(head.ok());
  BodyStream s(Fd(sv[0]), *head, "", false);
  auto body = s.read_all();
  writer.join();
  return body.ok() ? *body : "<error: " + body.error().message() + ">";
}

TEST(BodyStream, Shapes) {
  EXPECT_EQ(read_body("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "hello and more"), "hello");
  EXPECT_EQ(read_body("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"),
            "abcde");
  EXPECT_EQ(read_body("HTTP/1.1 200 OK\r\n\r\n", "until eof"), "until eof");
  EXPECT_EQ(read_body("HTTP/1.1 204 No Content\r\n\r\n", ""), "");
  EXPECT_EQ(read_body("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "short"),
            "<error: the daemon closed the connection before the end of the response>");
}

TEST(Response, Message) {
  Response r{404, {}, R"({"message":"No such container: x"})"};
  EXPECT_EQ(r.message(), "No such container: x");
  EXPECT_EQ(daemon_error(r).message(), "Error response from daemon: No such container: x");
  EXPECT_EQ(daemon_error(r).code(), ErrorCode::NotFound);
  Response plain{500, {}, "boom\n"};
  EXPECT_EQ(plain.message(), "boom");
}

TEST(UrlEscape, Escapes) { EXPECT_EQ(url_escape("a b/{\"x\":1}"), "a%20b%2F%7B%22x%22%3A1%7D"); }

}  // namespace
}  // namespace berth::cli
