// The grammar this parser accepts (ASCII only; a reference is checked
// against it from the outside in: digest, then tag, then name).
//
//   reference  = name [ ":" tag ] [ "@" digest ]
//   name       = [ domain "/" ] path               at most 255 characters
//   domain     = host [ ":" port ]
//   host       = label *( "." label )  |  "[" ipv6 "]"
//   label      = letter-or-digit, optionally followed by letters, digits
//                and '-' ending in a letter or digit (case is allowed)
//   port       = 1*DIGIT
//   ipv6       = 1*( HEXDIG | ":" )
//   path       = component *( "/" component )
//   component  = alnum *( separator alnum )
//   alnum      = 1*( "a".."z" | "0".."9" )         lowercase only
//   separator  = "." | "_" | "__" | 1*"-"
//   tag        = word 0*127( word | "." | "-" )     word = letter, digit, "_"
//   digest     = algorithm ":" hex
//   algorithm  = "sha256"                          the only one we store
//   hex        = 64 lowercase hex digits
//
// What is a domain and what a path is not decided by the grammar alone
// ("foo/bar" fits both ways). As Docker does, the first component is a
// domain only when another follows it and it contains '.' or ':' or is
// "localhost". The tag is what follows the last ':' after the last '/', so
// "localhost:5000/x" has a port and no tag.
//
// The parser is written by hand rather than with <regex>: libstdc++'s regex
// recurses per character and is slow, and references arrive in every API
// request that names an image.
#include "image/reference.h"

#include "base/digest.h"

namespace berth::image {

namespace {

constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxTagLength = 128;

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_lower_alnum(c) || is_upper(c); }
bool is_word(char c) { return is_alnum(c) || c == '_'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

Error format_error() { return Error::invalid("invalid reference format"); }

// component = alnum *( separator alnum )
bool valid_path_component(std::string_view c) {
  size_t i = 0;
  while (true) {
    size_t start = i;
    while (i < c.size() && is_lower_alnum(c[i])) ++i;
    if (i == start) return false;  // empty, or a separator not between alnums
    if (i == c.size()) return true;
    if (c[i] == '.') {
      ++i;
    } else if (c[i] == '_') {
      ++i;
      if (i < c.size() && c[i] == '_') ++i;
    } else if (c[i] == '-') {
      while (i < c.size() && c[i] == '-') ++i;
    } else {
      return false;
    }
  }
}

bool valid_path(std::string_view p) {
  while (true) {
    size_t slash = p.find('/');
    if (!valid_path_component(p.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    p.remove_prefix(slash + 1);
  }
}

bool valid_label(std::string_view l) {
  if (l.empty() || !is_alnum(l.front()) || !is_alnum(l.back())) return false;
  for (char c : l) {
    if (!is_alnum(c) && c != '-') return false;
  }
  return true;
}

bool valid_port(std::string_view p) {
  if (p.empty()) return false;
  for (char c : p) {
    if (!is_digit(c)) return false;
  }
  return true;
}

// domain = host [ ":" port ]
bool valid_domain(std::string_view d) {
  std::string_view host = d;
  std::string_view rest;
  if (!d.empty() && d.front() == '[') {
    size_t close = d.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : d.substr(1, close - 1)) {
      if (!is_hex(c) && c != ':') return false;
    }
    rest = d.substr(close + 1);
    if (rest.empty()) return true;
    return rest.front() == ':' && valid_port(rest.substr(1));
  }
  size_t colon = d.find(':');
  if (colon != std::string_view::npos) {
    host = d.substr(0, colon);
    if (!valid_port(d.substr(colon + 1))) return false;
  }
  while (true) {
    size_t dot = host.find('.');
    if (!valid_label(host.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    host.remove_prefix(dot + 1);
  }
}

// tag = word 0*127( word | "." | "-" )
bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > kMaxTagLength || !is_word(t.front())) return false;
  for (char c : t) {
    if (!is_word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

Result<void> check_reference_digest(std::string_view d) {
  size_t colon = d.find(':');
  if (colon == std::string_view::npos || colon == 0) return format_error();
  std::string_view algorithm = d.substr(0, colon);
  if (algorithm != "sha256") {
    // Other algorithms (sha512, ...) are well-formed, but nothing in Berth
    // can store or verify them; say so rather than "not found" later.
    for (char c : algorithm) {
      if (!is_alnum(c) && c != '+' && c != '.' && c != '_' && c != '-') return format_error();
    }
    return Error::invalid("invalid reference format: unsupported digest algorithm {}",
                          algorithm);
  }
  if (!is_valid_digest(d)) {
    return Error::invalid("invalid reference format: digest {} must be sha256 and 64 "
                          "lowercase hex digits",
                          d);
  }
  return ok();
}

// Whether the first component of a name (before the first '/') names a
// registry rather than the start of the path.
bool is_domain_component(std::string_view c) {
  return c.find_first_of(".:") != std::string_view::npos || c == "localhost";
}

}  // namespace

std::string Reference::name() const {
  if (domain.empty()) return path;
  return domain + "/" + path;
}

std::string Reference::string() const {
  std::string s = name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

std::string Reference::familiar() const {
  std::string s;
  if (domain.empty() || domain == kDefaultDomain) {
    std::string_view p = path;
    std::string prefix = std::string(kOfficialNamespace) + "/";
    // Only a two-component library/x is shortened: "library/a/b" must keep
    // its namespace or it would read as the user "a".
    if (p.starts_with(prefix) && p.find('/', prefix.size()) == std::string_view::npos) {
      p.remove_prefix(prefix.size());
    }
    s = p;
  } else {
    s = name();
  }
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

Result<Reference> parse_reference(std::string_view s) {
  Reference ref;
  std::string_view rest = s;

  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    std::string_view digest = rest.substr(at + 1);
    BERTH_TRY(check_reference_digest(digest));
    ref.digest = digest;
    rest = rest.substr(0, at);
  }

  size_t last_slash = rest.rfind('/');
  size_t last_colon = rest.rfind(':');
  if (last_colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || last_colon > last_slash)) {
    std::string_view tag = rest.substr(last_colon + 1);
    if (!valid_tag(tag)) return format_error();
    ref.tag = tag;
    rest = rest.substr(0, last_colon);
  }

  if (rest.empty()) {
    return Error::invalid("invalid reference format: repository name must have at least one "
                          "component");
  }
  if (rest.size() > kMaxNameLength) {
    return Error::invalid("invalid reference format: repository name must not be more than {} "
                          "characters",
                          kMaxNameLength);
  }

  std::string_view path = rest;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos &&
                                     is_domain_component(rest.substr(0, slash))) {
    std::string_view domain = rest.substr(0, slash);
    if (!valid_domain(domain)) return format_error();
    ref.domain = domain;
    path = rest.substr(slash + 1);
  }
  // Uppercase gets its own message: it is the one mistake people make
  // often ("MyApp"), and "invalid reference format" alone does not say so.
  for (char c : path) {
    if (is_upper(c)) {
      return Error::invalid("invalid reference format: repository name must be lowercase");
    }
  }
  if (!valid_path(path)) return format_error();
  ref.path = path;
  return ref;
}

Result<Reference> parse_normalized(std::string_view s) {
  if (s.size() == 64 && looks_like_image_id(s)) {
    return Error::invalid("invalid repository name ({}), cannot specify 64-byte hexadecimal "
                          "strings",
                          s);
  }
  Reference ref = BERTH_TRY(parse_reference(s));
  if (ref.domain.empty() || ref.domain == "index.docker.io") ref.domain = kDefaultDomain;
  if (ref.domain == kDefaultDomain && ref.path.find('/') == std::string::npos) {
    ref.path = std::string(kOfficialNamespace) + "/" + ref.path;
  }
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = kDefaultTag;
  // "library/" and "docker.io/" may have pushed the name past the limit.
  if (ref.name().size() > kMaxNameLength) {
    return Error::invalid("invalid reference format: repository name must not be more than {} "
                          "characters",
                          kMaxNameLength);
  }
  return ref;
}

bool looks_like_image_id(std::string_view s) {
  if (s.starts_with("sha256:")) return is_valid_digest(s);
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!is_digit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

}  // namespace berth::image
