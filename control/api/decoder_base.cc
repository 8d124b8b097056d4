#include "control/api/decoder_base.h"

#include <charconv>
#include <cmath>

#include "common/strings.h"

namespace weft::api::decoder {

bool isDnsLabel(std::string_view s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

std::string fieldPath(std::string_view field, std::string_view key) {
  return field.empty() ? std::string(key) : weft::strCat(field, ".", key);
}

std::string fieldIndex(std::string_view field, size_t i) {
  return weft::strCat(field, "[", i, "]");
}

int Decoder::line(const YAML::Node& at) const {
  // A tree built from JSON (the operator API) has no lines.
  if (!at.IsDefined() || at.Mark().is_null()) return 0;
  return first_line_ + at.Mark().line + 1;
}

std::string location(std::string_view source, int line) {
  return line > 0 ? weft::strCat(source, ":", line) : std::string(source);
}

absl::Status Decoder::error(const YAML::Node& at, std::string_view field,
                            std::string_view reason) const {
  return absl::InvalidArgumentError(
      weft::strCat(location(source_, line(at)), ": ", field, ": ", reason));
}

YAML::Node Decoder::get(const YAML::Node& parent, std::string_view key) {
  YAML::Node n = parent[std::string(key)];
  if (!n.IsDefined() || n.IsNull()) return YAML::Node(YAML::NodeType::Undefined);
  return n;
}

absl::StatusOr<YAML::Node> Decoder::child(const YAML::Node& parent, std::string_view field,
                                          std::string_view key) const {
  YAML::Node n = get(parent, key);
  if (!n.IsDefined()) return error(parent, fieldPath(field, key), "required field is missing");
  return n;
}

absl::Status Decoder::requireMap(const YAML::Node& n, std::string_view field,
                                 std::initializer_list<std::string_view> allowed) const {
  if (!n.IsMap()) return error(n, field, "must be a mapping");
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) return error(kv.first, field, "keys must be strings");
    const std::string& key = kv.first.Scalar();
    bool ok = false;
    for (auto a : allowed) ok = ok || key == a;
    if (!ok) return error(kv.first, fieldPath(field, key), "unknown field");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Decoder::stringValue(const YAML::Node& n,
                                                 std::string_view field) const {
  if (!n.IsScalar()) return error(n, field, "must be a string");
  if (!weft::isValidUtf8(n.Scalar())) return error(n, field, "is not valid UTF-8");
  return n.Scalar();
}

absl::StatusOr<std::string> Decoder::string(const YAML::Node& parent, std::string_view field,
                                            std::string_view key, Need need) const {
  YAML::Node n = get(parent, key);
  if (!n.IsDefined()) {
    if (need == Need::kRequired) {
      return error(parent, fieldPath(field, key), "required field is missing");
    }
    return std::string();
  }
  return stringValue(n, fieldPath(field, key));
}

absl::StatusOr<Labels> Decoder::labels(const YAML::Node& parent, std::string_view field,
                                       std::string_view key) const {
  Labels out;
  const std::string path = fieldPath(field, key);
  YAML::Node n = get(parent, key);
  if (!n.IsDefined()) return out;
  if (!n.IsMap()) return error(n, path, "must be a mapping of strings");
  for (const auto& kv : n) {
    if (!kv.first.IsScalar() || !kv.second.IsScalar()) {
      return error(kv.second, fieldPath(path, kv.first.Scalar()), "must be a string");
    }
    if (!weft::isValidUtf8(kv.first.Scalar()) || !weft::isValidUtf8(kv.second.Scalar())) {
      return error(kv.second, path, "is not valid UTF-8");
    }
    out[kv.first.Scalar()] = kv.second.Scalar();
  }
  return out;
}

absl::Status Decoder::uint(const YAML::Node& parent, std::string_view field, std::string_view key,
                           uint32_t min, uint32_t max, uint32_t* out, Need need) const {
  const std::string path = fieldPath(field, key);
  YAML::Node n = get(parent, key);
  if (!n.IsDefined()) {
    if (need == Need::kRequired) return error(parent, path, "required field is missing");
    return absl::OkStatus();
  }
  uint32_t v = 0;
  if (!n.IsScalar() || !weft::parseUnsigned(n.Scalar(), &v) || v < min || v > max) {
    return error(n, path, weft::strCat("must be an integer from ", min, " to ", max));
  }
  *out = v;
  return absl::OkStatus();
}

absl::Status Decoder::number(const YAML::Node& parent, std::string_view field, std::string_view key,
                             double min, double max, double* out) const {
  const std::string path = fieldPath(field, key);
  YAML::Node n = get(parent, key);
  if (!n.IsDefined()) return absl::OkStatus();
  double v = 0;
  bool ok = n.IsScalar() && !n.Scalar().empty();
  if (ok) {
    const std::string& s = n.Scalar();
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    ok =
        ec == std::errc() && end == s.data() + s.size() && std::isfinite(v) && v >= min && v <= max;
  }
  if (!ok) {
    return error(n, path,
                 weft::strCat("must be a number from ", static_cast<int64_t>(min), " to ",
                              static_cast<int64_t>(max)));
  }
  *out = v;
  return absl::OkStatus();
}

namespace {

constexpr std::string_view kDurationHelp =
    "must be a duration such as 5s, 500ms, 1m or 1h30m (at most 4 parts of up to 5 digits, "
    "units h, m, s, ms; at most 99999h59m59s999ms)";

}  // namespace

absl::Status Decoder::duration(const YAML::Node& parent, std::string_view field,
                               std::string_view key, Duration* out) const {
  const std::string path = fieldPath(field, key);
  YAML::Node n = get(parent, key);
  if (!n.IsDefined()) return absl::OkStatus();
  std::optional<Duration> d = n.IsScalar() ? parseDuration(n.Scalar()) : std::nullopt;
  if (!d) return error(n, path, kDurationHelp);
  if (d->count() == 0) return error(n, path, "must be greater than 0s");
  *out = *d;
  return absl::OkStatus();
}

absl::Status Decoder::timeout(const YAML::Node& parent, std::string_view field,
                              std::string_view key, std::optional<Duration>* out) const {
  const std::string path = fieldPath(field, key);
  YAML::Node n = get(parent, key);
  if (!n.IsDefined()) return absl::OkStatus();
  std::optional<Duration> d = n.IsScalar() ? parseDuration(n.Scalar()) : std::nullopt;
  if (!d) return error(n, path, kDurationHelp);
  if (d->count() == 0) {
    out->reset();
  } else {
    *out = *d;
  }
  return absl::OkStatus();
}

absl::Status Decoder::list(
    const YAML::Node& parent, std::string_view field, std::string_view key,
    const std::function<absl::Status(const YAML::Node&, const std::string&)>& each,
    Need need) const {
  const std::string path = fieldPath(field, key);
  YAML::Node n = get(parent, key);
  if (!n.IsDefined()) {
    if (need == Need::kRequired) return error(parent, path, "required field is missing");
    return absl::OkStatus();
  }
  if (!n.IsSequence()) return error(n, path, "must be a list");
  if (need == Need::kRequired && n.size() == 0) return error(n, path, "must not be empty");
  for (size_t i = 0; i < n.size(); ++i) {
    if (auto st = each(n[i], fieldIndex(path, i)); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::Status Decoder::stringList(const YAML::Node& parent, std::string_view field,
                                 std::string_view key, std::vector<std::string>* out,
                                 const std::function<std::string(std::string&)>& check) const {
  return list(parent, field, key, [&](const YAML::Node& n, const std::string& f) {
    auto v = stringValue(n, f);
    if (!v.ok()) return v.status();
    if (std::string why = check(*v); !why.empty()) return error(n, f, why);
    out->push_back(std::move(*v));
    return absl::OkStatus();
  });
}

absl::Status Decoder::metadata(const YAML::Node& doc, std::string* name, std::string* ns) const {
  auto meta = child(doc, "", "metadata");
  if (!meta.ok()) return meta.status();
  if (auto st = requireMap(*meta, "metadata", {"name", "namespace", "labels"}); !st.ok()) {
    return st;
  }
  auto n = string(*meta, "metadata", "name");
  if (!n.ok()) return n.status();
  if (!isDnsLabel(*n)) {
    return error(get(*meta, "name"), "metadata.name",
                 "must be a DNS label ([a-z0-9-], at most 63)");
  }
  auto space = string(*meta, "metadata", "namespace", Need::kOptional);
  if (!space.ok()) return space.status();
  if (!space->empty() && !isDnsLabel(*space)) {
    return error(get(*meta, "namespace"), "metadata.namespace", "must be a DNS label");
  }
  if (auto l = labels(*meta, "metadata"); !l.ok()) return l.status();
  *name = *n;
  *ns = space->empty() ? "default" : *space;
  return absl::OkStatus();
}

}  // namespace weft::api::decoder
