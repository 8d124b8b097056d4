#include "control/cli/metrics_text.h"

#include <cmath>
#include <cstdlib>

#include "common/strings.h"

namespace weft::control::cli {
namespace {

constexpr size_t kMaxText = 64u << 20;

bool nameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

// Parses `{k="v",...}` at line[pos] (pos at '{'); pos ends after '}'.
bool parseLabels(std::string_view line, size_t& pos, std::map<std::string, std::string>& out) {
  ++pos;
  for (;;) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == ',')) ++pos;
    if (pos < line.size() && line[pos] == '}') {
      ++pos;
      return true;
    }
    const size_t start = pos;
    while (pos < line.size() && nameChar(line[pos], pos == start)) ++pos;
    if (pos == start || pos + 1 >= line.size() || line[pos] != '=' || line[pos + 1] != '"') {
      return false;
    }
    std::string key(line.substr(start, pos - start));
    pos += 2;
    std::string value;
    for (;; ++pos) {
      if (pos >= line.size()) return false;
      const char c = line[pos];
      if (c == '"') break;
      if (c == '\\') {
        if (++pos >= line.size()) return false;
        const char e = line[pos];
        value.push_back(e == 'n' ? '\n' : e);
      } else {
        value.push_back(c);
      }
    }
    ++pos;
    out[std::move(key)] = std::move(value);
  }
}

bool parseValue(std::string_view text, double& out) {
  const std::string s(weft::trim(text.substr(0, text.find(' '))));
  if (s == "+Inf") {
    out = INFINITY;
  } else if (s == "-Inf") {
    out = -INFINITY;
  } else if (s == "NaN") {
    out = NAN;
  } else {
    char* end = nullptr;
    out = std::strtod(s.c_str(), &end);
    return !s.empty() && end == s.c_str() + s.size();
  }
  return true;
}

}  // namespace

absl::StatusOr<std::vector<MetricSample>> parseMetricsText(std::string_view text) {
  if (text.size() > kMaxText) {
    return absl::InvalidArgumentError(weft::strCat("metrics text over ", kMaxText, " bytes"));
  }
  std::vector<MetricSample> out;
  size_t number = 0;
  for (std::string_view line : weft::split(text, '\n')) {
    ++number;
    line = weft::trim(line);
    if (line.empty() || line.front() == '#') continue;
    MetricSample sample;
    size_t pos = 0;
    while (pos < line.size() && nameChar(line[pos], pos == 0)) ++pos;
    sample.name = std::string(line.substr(0, pos));
    bool ok = !sample.name.empty();
    if (ok && pos < line.size() && line[pos] == '{') ok = parseLabels(line, pos, sample.labels);
    ok = ok && pos < line.size() && line[pos] == ' ' &&
         parseValue(weft::trim(line.substr(pos)), sample.value);
    if (!ok) {
      return absl::InvalidArgumentError(
          weft::strCat("metrics line ", number, " is malformed: ", line.substr(0, 120)));
    }
    out.push_back(std::move(sample));
  }
  return out;
}

}  // namespace weft::control::cli
