#include "control/api/push_protocol.h"

#include "common/strings.h"

namespace weft::api::push {
namespace {

using nlohmann::json;

json nodeJson(const Node& n) {
  return {{"service", n.service}, {"namespace", n.ns},  {"labels", n.labels},
          {"address", n.address}, {"egress", n.egress}, {"admin", n.admin}};
}

absl::Status bad(std::string_view why) {
  return absl::InvalidArgumentError(weft::strCat("bad control-stream message: ", why));
}

template <typename T>
bool take(const json& j, std::string_view key, T* out) {
  auto it = j.find(key);
  if (it == j.end()) return true;
  try {
    *out = it->get<T>();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

}  // namespace

std::string encode(const Hello& m) {
  return json({{"type", "hello"},
               {"node", nodeJson(m.node)},
               {"version", m.version},
               {"held", m.held}})
             .dump() +
         "\n";
}

std::string encode(const Update& m) {
  json resources = json::array();
  for (const Resource& r : m.resources) {
    resources.push_back({{"key", r.key}, {"version", r.version}, {"object", r.object}});
  }
  return json({{"type", "update"},
               {"version", m.version},
               {"nonce", m.nonce},
               {"resources", std::move(resources)},
               {"removed", m.removed}})
             .dump() +
         "\n";
}

std::string encode(const Ack& m) {
  json j = {{"type", m.error ? "nack" : "ack"}, {"nonce", m.nonce}, {"version", m.version}};
  if (m.error) j["error"] = *m.error;
  return j.dump() + "\n";
}

std::string encodePing() { return "{\"type\":\"ping\"}\n"; }

absl::StatusOr<Message> decode(std::string_view line) {
  const json j = json::parse(line, nullptr, false);
  if (!j.is_object()) return bad("not a JSON object");
  std::string type;
  if (!take(j, "type", &type)) return bad("type: not a string");
  Message m;
  if (type == "ping") {
    m.type = Message::Type::kPing;
  } else if (type == "hello") {
    m.type = Message::Type::kHello;
    const json node = j.value("node", json::object());
    Node& n = m.hello.node;
    if (!node.is_object() || !take(node, "service", &n.service) ||
        !take(node, "namespace", &n.ns) || !take(node, "labels", &n.labels) ||
        !take(node, "address", &n.address) || !take(node, "egress", &n.egress) ||
        !take(node, "admin", &n.admin) || !take(j, "version", &m.hello.version) ||
        !take(j, "held", &m.hello.held)) {
      return bad("hello: a field has the wrong type");
    }
  } else if (type == "update") {
    m.type = Message::Type::kUpdate;
    if (!take(j, "version", &m.update.version) || !take(j, "nonce", &m.update.nonce) ||
        !take(j, "removed", &m.update.removed)) {
      return bad("update: a field has the wrong type");
    }
    for (const json& r : j.value("resources", json::array())) {
      if (!r.is_object() || !r.contains("object")) return bad("update: a resource has no object");
      Resource resource{"", "", r.at("object")};
      if (!take(r, "key", &resource.key) || !take(r, "version", &resource.version)) {
        return bad("update: a resource's key or version is not a string");
      }
      m.update.resources.push_back(std::move(resource));
    }
  } else if (type == "ack" || type == "nack") {
    m.type = Message::Type::kAck;
    if (!take(j, "nonce", &m.ack.nonce) || !take(j, "version", &m.ack.version)) {
      return bad("ack: a field has the wrong type");
    }
    if (type == "nack") {
      std::string error = "(no reason given)";
      if (!take(j, "error", &error)) return bad("nack: error is not a string");
      m.ack.error = std::move(error);
    }
  } else {
    return bad(weft::strCat("unknown type '", type, "'"));
  }
  return m;
}

std::string contentVersion(const json& object) {
  // FNV-1a over the canonical dump (keys sorted by nlohmann's std::map): stable across runs.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : object.dump()) {
    h ^= c;
    h *= 1099511628211ull;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[static_cast<size_t>(i)] = kHex[h & 15];
  return out;
}

absl::Status LineReader::append(std::string_view bytes) {
  buffer_.append(bytes);
  if (buffer_.find('\n', scanned_) == std::string::npos && buffer_.size() > kMaxMessageBytes) {
    return absl::ResourceExhaustedError(
        weft::strCat("a control-stream message is over ", kMaxMessageBytes >> 20, " MiB"));
  }
  return absl::OkStatus();
}

std::optional<std::string> LineReader::next() {
  const size_t nl = buffer_.find('\n', scanned_);
  if (nl == std::string::npos) {
    scanned_ = buffer_.size();
    return std::nullopt;
  }
  std::string line = buffer_.substr(0, nl);
  buffer_.erase(0, nl + 1);
  scanned_ = 0;
  return line;
}

}  // namespace weft::api::push
