#include "cli/template.h"

#include <cctype>
#include <cmath>
#include <functional>
#include <map>
#include <vector>

#include "base/strings.h"

namespace berth::cli {

struct Pipeline;

struct Operand {
  enum class Kind { Field, Literal, Ident, Sub };
  Kind kind = Kind::Literal;
  bool from_root = false;              // "$..." rather than "..."
  std::vector<std::string> fields;     // Field: the chain (empty = dot itself)
  Json literal;                        // Literal
  std::string ident;                   // Ident: a function name
  std::shared_ptr<Pipeline> sub;       // Sub: "(" pipeline ")"
};

struct Command {
  std::vector<Operand> operands;
};

struct Pipeline {
  std::vector<Command> commands;
};

struct Template::Node {
  enum class Kind { Text, Action, If, Range, With };
  Kind kind = Kind::Text;
  std::string text;
  Pipeline pipe;
  std::vector<Node> body, else_body;
};

using Node = Template::Node;

namespace {

const Json kNoValue = Json(Json::value_t::discarded);

bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The tokens of one action.
struct Lexer {
  std::string_view s;
  size_t pos = 0;

  void skip_space() {
    while (pos < s.size() && std::isspace(static_cast<unsigned char>(s[pos]))) ++pos;
  }
  bool at_end() {
    skip_space();
    return pos >= s.size();
  }
  char peek() {
    skip_space();
    return pos < s.size() ? s[pos] : '\0';
  }
  std::string_view word() {
    skip_space();
    size_t start = pos;
    while (pos < s.size() && is_ident_char(s[pos])) ++pos;
    return s.substr(start, pos - start);
  }
};

Result<Pipeline> parse_pipeline(Lexer& lx, bool in_parens);

Result<std::vector<std::string>> parse_chain(Lexer& lx) {
  std::vector<std::string> fields;
  while (lx.pos < lx.s.size() && lx.s[lx.pos] == '.') {
    ++lx.pos;
    size_t start = lx.pos;
    while (lx.pos < lx.s.size() && is_ident_char(lx.s[lx.pos])) ++lx.pos;
    if (lx.pos == start) {
      if (fields.empty()) break;  // a lone "." is dot itself
      return Error::invalid("template: bad field name after '.'");
    }
    fields.emplace_back(lx.s.substr(start, lx.pos - start));
  }
  return fields;
}

Result<Operand> parse_operand(Lexer& lx) {
  Operand op;
  char c = lx.peek();
  if (c == '.') {
    op.kind = Operand::Kind::Field;
    op.fields = BERTH_TRY(parse_chain(lx));
  } else if (c == '$') {
    ++lx.pos;
    op.kind = Operand::Kind::Field;
    op.from_root = true;
    op.fields = BERTH_TRY(parse_chain(lx));
  } else if (c == '"') {
    ++lx.pos;
    std::string v;
    for (;;) {
      if (lx.pos >= lx.s.size()) return Error::invalid("template: unterminated quoted string");
      char ch = lx.s[lx.pos++];
      if (ch == '"') break;
      if (ch == '\\' && lx.pos < lx.s.size()) {
        char e = lx.s[lx.pos++];
        v += e == 'n' ? '\n' : e == 't' ? '\t' : e;
      } else {
        v += ch;
      }
    }
    op.literal = v;
  } else if (c == '`') {
    ++lx.pos;
    size_t end = lx.s.find('`', lx.pos);
    if (end == std::string_view::npos) return Error::invalid("template: unterminated raw string");
    op.literal = std::string(lx.s.substr(lx.pos, end - lx.pos));
    lx.pos = end + 1;
  } else if (c == '(') {
    ++lx.pos;
    op.kind = Operand::Kind::Sub;
    op.sub = std::make_shared<Pipeline>(BERTH_TRY(parse_pipeline(lx, true)));
    if (lx.peek() != ')') return Error::invalid("template: unclosed left paren");
    ++lx.pos;
  } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '-') {
    size_t start = lx.pos++;
    while (lx.pos < lx.s.size() && (std::isdigit(static_cast<unsigned char>(lx.s[lx.pos])) || lx.s[lx.pos] == '.'))
      ++lx.pos;
    std::string num(lx.s.substr(start, lx.pos - start));
    if (auto i = parse_int(num)) {
      op.literal = *i;
    } else {
      op.literal = std::stod(num);
    }
  } else if (is_ident_char(c)) {
    std::string w(lx.word());
    if (w == "true" || w == "false") {
      op.literal = w == "true";
    } else if (w == "nil") {
      op.literal = nullptr;
    } else {
      op.kind = Operand::Kind::Ident;
      op.ident = w;
    }
  } else {
    return Error::invalid("template: unexpected {:?} in command", std::string(1, c));
  }
  return op;
}

Result<Pipeline> parse_pipeline(Lexer& lx, bool in_parens) {
  Pipeline p;
  Command cmd;
  for (;;) {
    char c = lx.peek();
    if (c == '\0' || (in_parens && c == ')')) break;
    if (c == '|') {
      ++lx.pos;
      if (cmd.operands.empty()) return Error::invalid("template: missing command before '|'");
      p.commands.push_back(std::move(cmd));
      cmd = Command{};
      continue;
    }
    cmd.operands.push_back(BERTH_TRY(parse_operand(lx)));
  }
  if (cmd.operands.empty()) return Error::invalid("template: missing value for command");
  p.commands.push_back(std::move(cmd));
  return p;
}

struct Action {
  std::string_view body;
  bool trim_left = false, trim_right = false;
};

// Splits the source into text and actions, then builds the tree.
class Parser {
 public:
  explicit Parser(std::string_view src) : src_(src) {}

  Result<std::vector<Node>> parse_all() {
    std::string end_word;
    auto nodes = BERTH_TRY(parse_list(end_word));
    if (!end_word.empty()) return Error::invalid("template: unexpected {{{{{}}}}}", end_word);
    return nodes;
  }

 private:
  // Parses until "end"/"else" (returned in `stop`) or the end of input.
  Result<std::vector<Node>> parse_list(std::string& stop) {
    std::vector<Node> out;
    for (;;) {
      size_t open = src_.find("{{", pos_);
      std::string text(src_.substr(pos_, open == std::string_view::npos ? std::string_view::npos : open - pos_));
      if (open == std::string_view::npos) {
        pos_ = src_.size();
        if (trim_next_) text = std::string(ltrim(text));
        if (!text.empty()) out.push_back(Node{Node::Kind::Text, text, {}, {}, {}});
        stop.clear();
        return out;
      }
      size_t close = src_.find("}}", open + 2);
      if (close == std::string_view::npos) return Error::invalid("template: unclosed action");
      Action a{src_.substr(open + 2, close - open - 2)};
      if (!a.body.empty() && a.body[0] == '-' && a.body.size() > 1 && a.body[1] == ' ') {
        a.trim_left = true;
        a.body.remove_prefix(1);
      }
      if (a.body.size() > 1 && a.body.back() == '-' && a.body[a.body.size() - 2] == ' ') {
        a.trim_right = true;
        a.body.remove_suffix(1);
      }
      if (trim_next_) text = std::string(ltrim(text));
      if (a.trim_left) text = rtrim(text);
      if (!text.empty()) out.push_back(Node{Node::Kind::Text, text, {}, {}, {}});
      pos_ = close + 2;
      trim_next_ = a.trim_right;

      std::string_view body = trim(a.body);
      if (body.starts_with("/*")) continue;
      Lexer lx{body};
      std::string_view kw = lx.word();
      if (kw == "end" || kw == "else") {
        if (!lx.at_end() && kw == "end") return Error::invalid("template: unexpected text after end");
        stop = std::string(kw);
        if (kw == "else" && !lx.at_end()) return Error::invalid("template: \"else if\" is not supported");
        return out;
      }
      Node n;
      if (kw == "if" || kw == "range" || kw == "with") {
        n.kind = kw == "if" ? Node::Kind::If : kw == "range" ? Node::Kind::Range : Node::Kind::With;
        n.pipe = BERTH_TRY(parse_pipeline(lx, false));
        std::string s;
        n.body = BERTH_TRY(parse_list(s));
        if (s == "else") {
          n.else_body = BERTH_TRY(parse_list(s));
        }
        if (s != "end") return Error::invalid("template: unexpected EOF: {} without end", kw);
      } else {
        lx.pos = 0;
        n.kind = Node::Kind::Action;
        n.pipe = BERTH_TRY(parse_pipeline(lx, false));
      }
      out.push_back(std::move(n));
    }
  }

  static std::string_view ltrim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    return s;
  }
  static std::string rtrim(std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    return s;
  }

  std::string_view src_;
  size_t pos_ = 0;
  bool trim_next_ = false;
};

bool truthy(const Json& v) {
  if (v.is_discarded() || v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0;
  if (v.is_string()) return !v.get_ref<const std::string&>().empty();
  return !v.empty();
}

double num(const Json& v) { return v.is_number() ? v.get<double>() : 0; }

class Exec {
 public:
  explicit Exec(const Json& root) : root_(root) {}

  Result<void> run(const std::vector<Node>& nodes, const Json& dot, std::string& out) {
    for (const auto& n : nodes) {
      switch (n.kind) {
        case Node::Kind::Text:
          out += n.text;
          break;
        case Node::Kind::Action: {
          Json v = BERTH_TRY(pipeline(n.pipe, dot));
          out += go_print(v);
          break;
        }
        case Node::Kind::If:
        case Node::Kind::With: {
          Json v = BERTH_TRY(pipeline(n.pipe, dot));
          if (truthy(v)) {
            BERTH_TRY(run(n.body, n.kind == Node::Kind::With ? v : dot, out));
          } else {
            BERTH_TRY(run(n.else_body, dot, out));
          }
          break;
        }
        case Node::Kind::Range: {
          Json v = BERTH_TRY(pipeline(n.pipe, dot));
          if (!truthy(v) || !(v.is_array() || v.is_object())) {
            if (!v.is_null() && !v.is_discarded() && !v.is_array() && !v.is_object())
              return Error::invalid("template: range can't iterate over {}", go_print(v));
            BERTH_TRY(run(n.else_body, dot, out));
            break;
          }
          for (const auto& item : v) BERTH_TRY(run(n.body, item, out));
          break;
        }
      }
    }
    return ok();
  }

 private:
  Result<Json> pipeline(const Pipeline& p, const Json& dot) {
    std::optional<Json> last;
    for (const auto& c : p.commands) last = BERTH_TRY(command(c, dot, last));
    return *last;
  }

  // Walks without copying; only the value reached is copied.
  Result<Json> field(const Json& base, const std::vector<std::string>& fields) {
    const Json* v = &base;
    for (const auto& f : fields) {
      if (v->is_object()) {
        auto it = v->find(f);
        v = it == v->end() ? &kNoValue : &*it;
      } else if (v->is_null() || v->is_discarded()) {
        return Error::invalid("template: nil pointer evaluating interface {{}}.{}", f);
      } else {
        return Error::invalid("template: can't evaluate field {} in type {}", f, json_type_name(*v));
      }
    }
    return *v;
  }

  Result<Json> operand(const Operand& op, const Json& dot) {
    switch (op.kind) {
      case Operand::Kind::Literal:
        return op.literal;
      case Operand::Kind::Field:
        return field(op.from_root ? root_ : dot, op.fields);
      case Operand::Kind::Sub:
        return pipeline(*op.sub, dot);
      case Operand::Kind::Ident:
        return call(op.ident, {});
    }
    return Json();
  }

  Result<Json> command(const Command& c, const Json& dot, const std::optional<Json>& piped) {
    const Operand& head = c.operands[0];
    std::vector<Json> args;
    for (size_t i = 1; i < c.operands.size(); ++i) args.push_back(BERTH_TRY(operand(c.operands[i], dot)));
    if (piped) args.push_back(*piped);
    if (head.kind == Operand::Kind::Ident) return call(head.ident, args);
    if (args.empty()) return operand(head, dot);
    // A field with arguments is a method call: docker's rows have .Label.
    if (head.kind == Operand::Kind::Field && !head.fields.empty() && head.fields.back() == "Label" && args.size() == 1) {
      std::vector<std::string> parent(head.fields.begin(), head.fields.end() - 1);
      Json base = BERTH_TRY(field(head.from_root ? root_ : dot, parent));
      return label(base, args[0]);
    }
    return Error::invalid("template: can't give argument to non-function {}", go_print(BERTH_TRY(operand(head, dot))));
  }

  static Json label(const Json& row, const Json& key) {
    if (!key.is_string() || !row.is_object()) return "";
    const std::string k = key.get<std::string>();
    auto it = row.find("Labels");
    if (it == row.end()) return "";
    if (it->is_object()) return it->contains(k) && (*it)[k].is_string() ? (*it)[k] : Json("");
    if (!it->is_string()) return "";
    for (const auto& kv : split(it->get<std::string>(), ',')) {
      auto eq = kv.find('=');
      if (eq != std::string::npos && kv.substr(0, eq) == k) return kv.substr(eq + 1);
    }
    return "";
  }

  static Result<Json> call(const std::string& name, const std::vector<Json>& a) {
    auto need = [&](size_t n) -> Result<void> {
      if (a.size() != n)
        return Error::invalid("template: wrong number of args for {}: want {} got {}", name, n, a.size());
      return ok();
    };
    auto text = [](const Json& v) { return go_print(v); };
    if (name == "json") {
      BERTH_TRY(need(1));
      return Json(go_json(a[0].is_discarded() ? Json() : a[0]));
    }
    if (name == "join") {
      BERTH_TRY(need(2));
      std::vector<std::string> parts;
      if (a[0].is_array())
        for (const auto& e : a[0]) parts.push_back(text(e));
      else if (!a[0].is_null())
        return Error::invalid("template: join: expected a list, got {}", json_type_name(a[0]));
      return Json(join(parts, text(a[1])));
    }
    if (name == "split") {
      BERTH_TRY(need(2));
      Json out = Json::array();
      std::string s = text(a[0]), sep = text(a[1]);
      if (sep.empty()) {
        for (char ch : s) out.push_back(std::string(1, ch));
        return out;
      }
      size_t start = 0, at;
      while ((at = s.find(sep, start)) != std::string::npos) {
        out.push_back(s.substr(start, at - start));
        start = at + sep.size();
      }
      out.push_back(s.substr(start));
      return out;
    }
    if (name == "upper" || name == "lower" || name == "title") {
      BERTH_TRY(need(1));
      std::string s = text(a[0]);
      bool word_start = true;
      for (auto& ch : s) {
        auto u = static_cast<unsigned char>(ch);
        if (name == "upper" || (name == "title" && word_start)) ch = static_cast<char>(std::toupper(u));
        else if (name == "lower") ch = static_cast<char>(std::tolower(u));
        word_start = std::isspace(u);
      }
      return Json(s);
    }
    if (name == "truncate") {
      BERTH_TRY(need(2));
      std::string s = text(a[0]);
      auto n = static_cast<size_t>(std::max(0.0, num(a[1])));
      return Json(s.size() > n ? s.substr(0, n) : s);
    }
    if (name == "pad") {
      BERTH_TRY(need(3));
      return Json(std::string(static_cast<size_t>(std::max(0.0, num(a[1]))), ' ') + text(a[0]) +
                  std::string(static_cast<size_t>(std::max(0.0, num(a[2]))), ' '));
    }
    if (name == "len") {
      BERTH_TRY(need(1));
      if (a[0].is_string()) return Json(a[0].get_ref<const std::string&>().size());
      if (a[0].is_array() || a[0].is_object()) return Json(a[0].size());
      if (a[0].is_null()) return Json(0);
      return Error::invalid("template: len of {}", json_type_name(a[0]));
    }
    if (name == "index") {
      if (a.empty()) return Error::invalid("template: wrong number of args for index");
      Json v = a[0];
      for (size_t i = 1; i < a.size(); ++i) {
        if (v.is_array() && a[i].is_number()) {
          auto k = static_cast<size_t>(num(a[i]));
          if (k >= v.size()) return Error::invalid("template: index out of range: {}", k);
          Json next = v[k];
          v = std::move(next);
        } else if (v.is_object() && a[i].is_string()) {
          auto it = v.find(a[i].get<std::string>());
          if (it == v.end()) return Json("");  // docker's typed maps give ""
          Json next = *it;
          v = std::move(next);
        } else if (v.is_null() || v.is_discarded()) {
          return kNoValue;
        } else {
          return Error::invalid("template: can't index item of type {}", json_type_name(v));
        }
      }
      return v;
    }
    if (name == "print" || name == "println") {
      std::string s;
      for (size_t i = 0; i < a.size(); ++i) {
        if (i > 0 && (name == "println" || (!a[i].is_string() && !a[i - 1].is_string()))) s += ' ';
        s += text(a[i]);
      }
      if (name == "println") s += '\n';
      return Json(s);
    }
    if (name == "printf") {
      if (a.empty() || !a[0].is_string()) return Error::invalid("template: printf needs a format string");
      const std::string& f = a[0].get_ref<const std::string&>();
      std::string s;
      size_t arg = 1;
      for (size_t i = 0; i < f.size(); ++i) {
        if (f[i] != '%' || i + 1 == f.size()) {
          s += f[i];
          continue;
        }
        char verb = f[++i];
        if (verb == '%') {
          s += '%';
          continue;
        }
        if (arg >= a.size()) {
          s += fmt::format("%!{}(MISSING)", verb);
          continue;
        }
        const Json& v = a[arg++];
        s += verb == 'q' ? go_json(Json(text(v))) : text(v);
      }
      return Json(s);
    }
    if (name == "not") {
      BERTH_TRY(need(1));
      return Json(!truthy(a[0]));
    }
    if (name == "and" || name == "or") {
      if (a.empty()) return Error::invalid("template: wrong number of args for {}", name);
      for (size_t i = 0; i + 1 < a.size(); ++i)
        if (truthy(a[i]) == (name == "or")) return a[i];
      return a.back();
    }
    if (name == "eq" || name == "ne") {
      if (a.size() < 2) return Error::invalid("template: wrong number of args for {}", name);
      bool any = false;
      for (size_t i = 1; i < a.size(); ++i) any = any || a[0] == a[i];
      return Json(name == "eq" ? any : !any);
    }
    if (name == "lt" || name == "le" || name == "gt" || name == "ge") {
      BERTH_TRY(need(2));
      bool r;
      if (a[0].is_string() && a[1].is_string()) {
        auto x = a[0].get<std::string>(), y = a[1].get<std::string>();
        r = name == "lt" ? x < y : name == "le" ? x <= y : name == "gt" ? x > y : x >= y;
      } else {
        double x = num(a[0]), y = num(a[1]);
        r = name == "lt" ? x < y : name == "le" ? x <= y : name == "gt" ? x > y : x >= y;
      }
      return Json(r);
    }
    return Error::invalid("template: function \"{}\" not defined", name);
  }

  const Json& root_;
};

}  // namespace

std::string go_print(const Json& v) {
  if (v.is_discarded()) return "<no value>";
  if (v.is_null()) return "<nil>";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return v.dump();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) return fmt::format("{}", static_cast<int64_t>(d));
    return fmt::format("{}", d);
  }
  std::string out;
  if (v.is_array()) {
    out = "[";
    bool first = true;
    for (const auto& e : v) {
      if (!first) out += ' ';
      first = false;
      out += go_print(e);
    }
    return out + "]";
  }
  out = "map[";
  bool first = true;
  for (const auto& [k, e] : v.items()) {
    if (!first) out += ' ';
    first = false;
    out += k + ":" + go_print(e);
  }
  return out + "]";
}

std::string go_json(const Json& v) { return v.dump(-1, ' ', false, Json::error_handler_t::replace); }

Result<Template> Template::parse(std::string_view text) {
  Parser p(text);
  Template t;
  t.nodes_ = std::make_shared<const std::vector<Node>>(BERTH_TRY(p.parse_all()));
  return t;
}

namespace {

bool collect_fields(const Pipeline& p, std::set<std::string>& out);

bool collect_fields(const Operand& op, std::set<std::string>& out) {
  switch (op.kind) {
    case Operand::Kind::Field:
      if (op.fields.empty()) return false;  // the data itself
      if (op.fields.back() == "Label") out.insert("Labels");
      if (op.fields.size() > 1 || op.fields[0] != "Label") out.insert(op.fields[0]);
      return true;
    case Operand::Kind::Sub:
      return collect_fields(*op.sub, out);
    default:
      return true;
  }
}

bool collect_fields(const Pipeline& p, std::set<std::string>& out) {
  for (const auto& c : p.commands)
    for (const auto& op : c.operands)
      if (!collect_fields(op, out)) return false;
  return true;
}

bool collect_fields(const std::vector<Node>& nodes, std::set<std::string>& out) {
  for (const auto& n : nodes) {
    if (n.kind == Node::Kind::Range || n.kind == Node::Kind::With) return false;  // dot moves
    if (n.kind == Node::Kind::Text) continue;
    if (!collect_fields(n.pipe, out) || !collect_fields(n.body, out) || !collect_fields(n.else_body, out))
      return false;
  }
  return true;
}

}  // namespace

std::optional<std::set<std::string>> Template::fields() const {
  std::set<std::string> out;
  if (!collect_fields(*nodes_, out)) return std::nullopt;
  return out;
}

Result<std::string> Template::execute(const Json& data) const {
  std::string out;
  Exec e(data);
  BERTH_TRY(e.run(*nodes_, data, out));
  return out;
}

}  // namespace berth::cli
