// Go text/template, the subset that docker's --format users write.
//
// Grammar accepted:
//   template = { text | "{{" ["-"] action ["-"] "}}" }
//   action   = pipeline | "if" pipeline | "range" pipeline | "with" pipeline
//            | "else" | "end" | "/*" comment "*/"
//   pipeline = command { "|" command }     (the value of each command is the
//                                           last argument of the next)
//   command  = operand { operand }         (a function name or a field,
//                                           then its arguments)
//   operand  = "." | "$" | field-chain | "$" field-chain | string | raw-string
//            | number | "true" | "false" | "nil" | "(" pipeline ")"
//   field-chain = { "." identifier }
// Functions: Go's builtins (index len print printf println eq ne lt le gt ge
// and or not) and docker's (json join split upper lower title truncate pad).
// A field on an object with further arguments is a method; `.Label "k"` on a
// ps/images row reads one label, as docker's does.
//
// Data are JSON values. Printing follows Go's %v of the decoded value:
// strings bare, whole numbers without a fraction, arrays as "[a b]",
// objects as "map[k:v]", null as "<nil>", a missing key as "<no value>".
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "base/json.h"
#include "base/result.h"

namespace berth::cli {

class Template {
 public:
  static Result<Template> parse(std::string_view text);
  Result<std::string> execute(const Json& data) const;
  // The top-level fields of the data that executing may read ("ID",
  // "Names"; `.Label "k"` reads "Labels"), or nullopt when it may read
  // anything: the data itself (`{{json .}}`), or under `range`/`with`.
  // Lets a caller compute only the columns a format shows.
  std::optional<std::set<std::string>> fields() const;

  struct Node;

 private:
  std::shared_ptr<const std::vector<Node>> nodes_;
};

// Go's %v of a JSON value.
std::string go_print(const Json& v);
// docker's json function: compact, without HTML escaping (SetEscapeHTML(false)).
std::string go_json(const Json& v);

}  // namespace berth::cli
