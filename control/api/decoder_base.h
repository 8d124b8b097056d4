#pragma once

// The building blocks the per-kind decoders share: one Decoder per YAML document, which reads
// typed fields and reports every problem as `source:line: field.path: reason`.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/api/duration.h"
#include "control/api/resources.h"

namespace weft::api::decoder {

// [a-z0-9-], 1 to 63 characters, no leading or trailing '-' (RFC 1123 label).
bool isDnsLabel(std::string_view s);

enum class Need { kOptional, kRequired };

// "source:line", or just the source when there is no line (a document that came as JSON).
std::string location(std::string_view source, int line);

// "field.key", or "key" at the top of a document.
std::string fieldPath(std::string_view field, std::string_view key);
// "field[i]".
std::string fieldIndex(std::string_view field, size_t i);

// Walks one YAML document. Field helpers take the parent mapping, the parent's field path and
// the key; a missing required field is reported at the parent's line, a bad value at its own.
class Decoder {
 public:
  Decoder(std::string_view source, int first_line) : source_(source), first_line_(first_line) {}

  const std::string& source() const { return source_; }
  // The 1-based line of `at` within the whole source; 0 when the tree has none (built from JSON).
  int line(const YAML::Node& at) const;
  absl::Status error(const YAML::Node& at, std::string_view field, std::string_view reason) const;

  // parent[key] if present and not null; otherwise an undefined node.
  static YAML::Node get(const YAML::Node& parent, std::string_view key);
  static bool has(const YAML::Node& parent, std::string_view key) {
    return get(parent, key).IsDefined();
  }

  // parent[key], which must be present.
  absl::StatusOr<YAML::Node> child(const YAML::Node& parent, std::string_view field,
                                   std::string_view key) const;
  // `n` must be a mapping whose keys are all in `allowed`.
  absl::Status requireMap(const YAML::Node& n, std::string_view field,
                          std::initializer_list<std::string_view> allowed) const;

  // A UTF-8 scalar; "" when optional and absent.
  absl::StatusOr<std::string> string(const YAML::Node& parent, std::string_view field,
                                     std::string_view key, Need need = Need::kRequired) const;
  absl::StatusOr<std::string> stringValue(const YAML::Node& n, std::string_view field) const;
  // A mapping of strings to strings; empty when absent.
  absl::StatusOr<Labels> labels(const YAML::Node& parent, std::string_view field,
                                std::string_view key = "labels") const;
  // An unsigned integer in [min, max] into *out, which keeps its value when the field is absent.
  absl::Status uint(const YAML::Node& parent, std::string_view field, std::string_view key,
                    uint32_t min, uint32_t max, uint32_t* out, Need need = Need::kOptional) const;
  // A number (integer or decimal) in [min, max] into *out, kept when absent.
  absl::Status number(const YAML::Node& parent, std::string_view field, std::string_view key,
                      double min, double max, double* out) const;
  // A duration greater than zero into *out, kept when absent.
  absl::Status duration(const YAML::Node& parent, std::string_view field, std::string_view key,
                        Duration* out) const;
  // A timeout: absent or "0s" (Gateway API: zero disables the timeout) leave *out empty.
  absl::Status timeout(const YAML::Node& parent, std::string_view field, std::string_view key,
                       std::optional<Duration>* out) const;
  // parent[key] as a list: calls `each(item, "field.key[i]")` for every item; absent is empty
  // unless required, which also means at least one item.
  absl::Status list(const YAML::Node& parent, std::string_view field, std::string_view key,
                    const std::function<absl::Status(const YAML::Node&, const std::string&)>& each,
                    Need need = Need::kOptional) const;
  // A list of strings at parent[key], each checked by `check` (which returns the reason it is
  // wrong, or ""); `check` may rewrite the value it is given (to a canonical form).
  absl::Status stringList(const YAML::Node& parent, std::string_view field, std::string_view key,
                          std::vector<std::string>* out,
                          const std::function<std::string(std::string&)>& check) const;

  // metadata {name, namespace, labels}: name and namespace are DNS labels; namespace defaults
  // to "default"; labels are accepted and not kept.
  absl::Status metadata(const YAML::Node& doc, std::string* name, std::string* ns) const;

 private:
  std::string source_;
  int first_line_;  // of this document within the source, 0-based
};

}  // namespace weft::api::decoder
