#include "api/router.h"

#include "base/strings.h"

namespace berth::api {

namespace {

std::vector<std::string> segments_of(std::string_view path) {
  std::vector<std::string> out;
  for (auto& s : split(path, '/'))
    if (!s.empty()) out.push_back(std::move(s));
  return out;
}

}  // namespace

int parse_api_version(std::string_view v) {
  auto dot = v.find('.');
  if (dot == std::string_view::npos) return -1;
  auto major = parse_uint(v.substr(0, dot));
  auto minor = parse_uint(v.substr(dot + 1));
  if (!major || !minor || *major > 9 || *minor > 999) return -1;
  return static_cast<int>(*major * 100 + *minor);
}

void Router::add(std::string method, std::string pattern, Handler h) {
  routes_.push_back(Route{std::move(method), segments_of(pattern), std::move(h)});
}

bool Router::match(const Route& r, const std::vector<std::string>& segs,
                   std::map<std::string, std::string>& params) {
  size_t i = 0;
  for (size_t k = 0; k < r.segments.size(); k++) {
    const std::string& p = r.segments[k];
    bool is_param = p.size() > 2 && p.front() == '{' && p.back() == '}';
    if (!is_param) {
      if (i >= segs.size() || segs[i] != p) return false;
      i++;
      continue;
    }
    std::string name = p.substr(1, p.size() - 2);
    if (name.back() == '*') {
      name.pop_back();
      // Greedy, leaving exactly as many segments as the rest of the pattern.
      size_t rest = r.segments.size() - k - 1;
      if (segs.size() < i + 1 + rest) return false;
      size_t end = segs.size() - rest;
      std::vector<std::string> taken(segs.begin() + static_cast<long>(i), segs.begin() + static_cast<long>(end));
      params[name] = join(taken, "/");
      i = end;
      continue;
    }
    if (i >= segs.size()) return false;
    params[name] = segs[i++];
  }
  return i == segs.size();
}

void Router::dispatch(Request& req, Response& res) const {
  std::vector<std::string> segs = segments_of(req.path);
  req.api_version = kMaxApiVersion;
  if (!segs.empty() && segs[0].size() > 1 && segs[0][0] == 'v' &&
      std::isdigit(static_cast<unsigned char>(segs[0][1]))) {
    int v = parse_api_version(std::string_view(segs[0]).substr(1));
    if (v < 0) {
      res.error(Error::not_found("page not found"));
      return;
    }
    if (v > parse_api_version(kMaxApiVersion)) {
      res.error(Error::invalid("client version {} is too new. Maximum supported API version is {}",
                               segs[0].substr(1), kMaxApiVersion));
      return;
    }
    if (v < parse_api_version(kMinApiVersion)) {
      res.error(Error::invalid("client version {} is too old. Minimum supported API version is {}, "
                               "please upgrade your client to a newer version",
                               segs[0].substr(1), kMinApiVersion));
      return;
    }
    req.api_version = segs[0].substr(1);
    segs.erase(segs.begin());
  }
  bool path_known = false;
  for (const auto& r : routes_) {
    std::map<std::string, std::string> params;
    if (!match(r, segs, params)) continue;
    path_known = true;
    // HEAD is served by the GET handler where no HEAD route exists.
    if (r.method != req.method && !(req.method == "HEAD" && r.method == "GET")) continue;
    req.params = std::move(params);
    r.handler(req, res);
    return;
  }
  if (path_known) {
    res.json(405, Json{{"message", "method not allowed"}});
    return;
  }
  res.error(Error::not_found("page not found"));
}

}  // namespace berth::api
