// Router: method + path pattern → handler. Patterns are literal segments and
// {name} parameters; {name*} takes one or more segments greedily, as image
// names hold slashes ("/images/{name*}/json" matches
// "/images/localhost:5000/team/app:v1/json"). Routes are tried in the order
// they were added: put literal routes ("/images/json") before patterns.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "api/http.h"

namespace berth::api {

using Handler = std::function<void(Request&, Response&)>;

// The API versions we answer: the docker CLI negotiates down to MaxVersion.
inline constexpr const char* kMaxApiVersion = "1.41";
inline constexpr const char* kMinApiVersion = "1.24";

class Router {
 public:
  void add(std::string method, std::string pattern, Handler h);
  // Strip and check a /vX.Y prefix, match, call. Unknown paths get 404
  // "page not found", a known path with another method 405.
  void dispatch(Request& req, Response& res) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
  };
  static bool match(const Route& r, const std::vector<std::string>& segs,
                    std::map<std::string, std::string>& params);
  std::vector<Route> routes_;
};

// "1.41" → 141, "v1.24" invalid. -1 when malformed.
int parse_api_version(std::string_view v);

}  // namespace berth::api
