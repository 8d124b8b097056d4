#include "control/store/file_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "runtime/atomic_file.h"

namespace weft::control::store {
namespace {

using nlohmann::json;

json kvJson(const KeyValue& kv) {
  return {{"key", kv.key},
          {"value", kv.value},
          {"create", kv.create_revision},
          {"mod", kv.mod_revision},
          {"lease", kv.lease}};
}

KeyValue kvFrom(const json& j) {
  return KeyValue{j.value("key", ""), j.value("value", ""), j.value("create", Revision{0}),
                  j.value("mod", Revision{0}), j.value("lease", LeaseId{0})};
}

}  // namespace

absl::StatusOr<std::unique_ptr<FileStore>> FileStore::open(const std::string& dir,
                                                           Clock::time_point now,
                                                           std::chrono::seconds restore_grace) {
  if (auto st = runtime::ensurePrivateDir(dir); !st.ok()) return st;
  std::unique_ptr<FileStore> store(new FileStore(dir));
  if (auto st = store->load(now); !st.ok()) return st;
  for (auto& [id, lease] : store->leases_) {
    lease.deadline = now + std::max<Clock::duration>(lease.ttl, restore_grace);
  }
  return store;
}

FileStore::~FileStore() {
  if (log_fd_ >= 0) ::close(log_fd_);
}

absl::Status FileStore::load(Clock::time_point now) {
  const std::string snapshot_path = dir_ + "/snapshot.json";
  if (auto text = runtime::readFile(snapshot_path, size_t{1} << 30); text.ok()) {
    const json doc = json::parse(*text, nullptr, false);
    if (!doc.is_object() || !doc["kvs"].is_array()) {
      return absl::DataLossError(weft::strCat(snapshot_path, ": not a store snapshot"));
    }
    revision_ = doc.value("revision", Revision{0});
    next_lease_ = doc.value("nextLease", LeaseId{1});
    for (const json& kv : doc["kvs"]) {
      KeyValue v = kvFrom(kv);
      kvs_[v.key] = std::move(v);
    }
    for (const json& l : doc.value("leases", json::array())) {
      const std::chrono::seconds ttl(l.value("ttl", int64_t{0}));
      leases_[l.value("id", LeaseId{0})] = Lease{ttl, now + ttl};
    }
  } else if (!absl::IsNotFound(text.status())) {
    return text.status();
  }
  const std::string log_path = dir_ + "/log";
  auto log = runtime::readFile(log_path, size_t{1} << 30);
  if (!log.ok() && !absl::IsNotFound(log.status())) return log.status();
  size_t good = 0;  // bytes of whole, parseable records
  if (log.ok()) {
    size_t pos = 0;
    while (pos < log->size()) {
      const size_t end = log->find('\n', pos);
      if (end == std::string::npos) break;  // torn: no newline
      const json r = json::parse(log->substr(pos, end - pos), nullptr, false);
      if (!r.is_object()) break;  // torn inside
      const std::string op = r.value("op", "");
      const Revision rev = r.value("rev", Revision{0});
      if (op == "lease") {
        const LeaseId id = r.value("id", LeaseId{0});
        const std::chrono::seconds ttl(r.value("ttl", int64_t{0}));
        if (id >= next_lease_) {
          leases_[id] = Lease{ttl, now + ttl};
          next_lease_ = id + 1;
        }
      } else if (op == "revoke") {
        leases_.erase(r.value("id", LeaseId{0}));
      } else if (op == "txn" && rev > revision_) {  // what the snapshot holds is skipped
        for (const json& o : r.value("ops", json::array())) {
          if (o.contains("put")) {
            KeyValue kv = kvFrom(o["put"]);
            kvs_[kv.key] = kv;
          } else {
            kvs_.erase(o.value("del", ""));
          }
        }
        revision_ = rev;
      }
      ++log_records_;
      pos = end + 1;
      good = pos;
    }
  }
  compacted_ = revision_;
  log_fd_ = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd_ < 0) {
    return absl::FailedPreconditionError(
        weft::strCat("cannot open ", log_path, ": ", std::strerror(errno)));
  }
  if (log.ok() && good < log->size()) {
    // Cut off the torn record, so what is appended next follows a whole one.
    if (::ftruncate(log_fd_, static_cast<off_t>(good)) != 0 || ::fsync(log_fd_) != 0) {
      return absl::FailedPreconditionError(
          weft::strCat("cannot cut the torn end of ", log_path, ": ", std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

absl::Status FileStore::append(const std::string& record, bool sync) {
  const std::string line = record + "\n";
  const off_t before = ::lseek(log_fd_, 0, SEEK_END);
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(log_fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    done += static_cast<size_t>(n);
  }
  if (done < line.size() || (sync && ::fdatasync(log_fd_) != 0)) {
    const std::string why = std::strerror(errno);
    if (before >= 0 && ::ftruncate(log_fd_, before) == 0) ::fdatasync(log_fd_);
    return absl::UnavailableError(weft::strCat("cannot write ", dir_, "/log: ", why));
  }
  ++log_records_;
  return absl::OkStatus();
}

absl::Status FileStore::compactIfDue() {
  if (log_records_ < kCompactAfter) return absl::OkStatus();
  json kvs = json::array();
  for (const auto& [key, kv] : kvs_) kvs.push_back(kvJson(kv));
  json leases = json::array();
  for (const auto& [id, lease] : leases_)
    leases.push_back({{"id", id}, {"ttl", lease.ttl.count()}});
  const json doc = {
      {"revision", revision_}, {"nextLease", next_lease_}, {"kvs", kvs}, {"leases", leases}};
  if (auto st = runtime::writeFileAtomic(dir_ + "/snapshot.json", doc.dump(), 0600); !st.ok()) {
    return st;  // the log still holds everything
  }
  // The snapshot holds the log's records now; one left behind by a crash here is skipped.
  if (::ftruncate(log_fd_, 0) == 0) {
    ::fdatasync(log_fd_);
    log_records_ = 0;
  }
  return absl::OkStatus();
}

void FileStore::applied(Event event) {
  history_.push_back(event);
  if (history_.size() > kHistory) {
    compacted_ = history_.front().kv.mod_revision;
    history_.pop_front();
  }
  for (const auto& watcher : watchers_) watcher(event);
}

std::optional<KeyValue> FileStore::get(std::string_view key) const {
  auto it = kvs_.find(key);
  if (it == kvs_.end()) return std::nullopt;
  return it->second;
}

std::vector<KeyValue> FileStore::list(std::string_view prefix) const {
  std::vector<KeyValue> out;
  for (auto it = kvs_.lower_bound(prefix); it != kvs_.end() && it->first.starts_with(prefix);
       ++it) {
    out.push_back(it->second);
  }
  return out;
}

absl::StatusOr<Revision> FileStore::put(std::string_view key, std::string_view value,
                                        std::optional<Revision> expected_mod_revision,
                                        LeaseId lease) {
  return commit(
      {{Op::Type::kPut, std::string(key), std::string(value), expected_mod_revision, lease}});
}

absl::StatusOr<Revision> FileStore::remove(std::string_view key,
                                           std::optional<Revision> expected_mod_revision) {
  return commit({{Op::Type::kDelete, std::string(key), {}, expected_mod_revision}});
}

absl::StatusOr<Revision> FileStore::commit(const std::vector<Op>& ops) {
  if (ops.empty()) return revision_;
  const Revision rev = revision_ + 1;
  std::vector<Event> events;
  json record_ops = json::array();
  std::set<std::string_view> touched;
  bool ephemeral = true;  // every op writes or deletes a key under a lease
  for (const Op& op : ops) {
    if (!touched.insert(op.key).second) {
      return absl::InvalidArgumentError(weft::strCat(op.key, ": written twice in one commit"));
    }
    auto it = kvs_.find(op.key);
    if (op.type == Op::Type::kDelete && it == kvs_.end()) {
      return absl::NotFoundError(weft::strCat(op.key, ": no such key"));
    }
    const Revision current = it == kvs_.end() ? 0 : it->second.mod_revision;
    if (op.expected_mod_revision && *op.expected_mod_revision != current) {
      return absl::AbortedError(weft::strCat(op.key, ": resourceVersion ",
                                             *op.expected_mod_revision, " is stale (now ", current,
                                             ")"));
    }
    if (op.type == Op::Type::kDelete) {
      ephemeral = ephemeral && it->second.lease != 0;
      KeyValue gone = it->second;
      gone.mod_revision = rev;
      events.push_back(Event{Event::Type::kDelete, std::move(gone)});
      record_ops.push_back({{"del", op.key}});
      continue;
    }
    if (op.lease != 0 && !leases_.contains(op.lease)) {
      return absl::NotFoundError(weft::strCat("lease ", op.lease, " has expired or never existed"));
    }
    ephemeral = ephemeral && op.lease != 0;
    KeyValue kv{op.key, op.value, it == kvs_.end() ? rev : it->second.create_revision, rev,
                op.lease};
    record_ops.push_back({{"put", kvJson(kv)}});
    events.push_back(Event{Event::Type::kPut, std::move(kv)});
  }
  if (auto st = append(json({{"op", "txn"}, {"rev", rev}, {"ops", record_ops}}).dump(), !ephemeral);
      !st.ok()) {
    return st;
  }
  revision_ = rev;
  for (const Event& e : events) {
    if (e.type == Event::Type::kPut) {
      kvs_[e.kv.key] = e.kv;
    } else {
      kvs_.erase(e.kv.key);
    }
  }
  for (Event& e : events) applied(std::move(e));
  if (auto st = compactIfDue(); !st.ok()) return st;
  return revision_;
}

absl::StatusOr<std::vector<Event>> FileStore::changesSince(std::string_view prefix,
                                                           Revision after) const {
  if (after < compacted_) {
    return absl::OutOfRangeError(weft::strCat(
        "revision ", after, " is older than the history kept (from ", compacted_, "): list again"));
  }
  std::vector<Event> out;
  for (const Event& e : history_) {
    if (e.kv.mod_revision > after && e.kv.key.starts_with(prefix)) out.push_back(e);
  }
  return out;
}

void FileStore::onChange(std::function<void(const Event&)> callback) {
  watchers_.push_back(std::move(callback));
}

absl::StatusOr<LeaseId> FileStore::grantLease(std::chrono::seconds ttl, Clock::time_point now) {
  if (ttl.count() <= 0) return absl::InvalidArgumentError("a lease needs a ttl of 1s or more");
  const LeaseId id = next_lease_;
  if (auto st = append(json({{"op", "lease"}, {"id", id}, {"ttl", ttl.count()}}).dump(), false);
      !st.ok()) {
    return st;
  }
  ++next_lease_;
  leases_[id] = Lease{ttl, now + ttl};
  return id;
}

absl::Status FileStore::keepAlive(LeaseId lease, Clock::time_point now) {
  auto it = leases_.find(lease);
  if (it == leases_.end()) {
    return absl::NotFoundError(weft::strCat("lease ", lease, " has expired or never existed"));
  }
  it->second.deadline = now + it->second.ttl;
  return absl::OkStatus();
}

absl::Status FileStore::removeLeaseKeys(LeaseId lease) {
  std::vector<std::string> keys;
  for (const auto& [key, kv] : kvs_) {
    if (kv.lease == lease) keys.push_back(key);
  }
  for (const std::string& key : keys) {
    if (auto r = remove(key); !r.ok()) return r.status();
  }
  return absl::OkStatus();
}

absl::Status FileStore::revokeLease(LeaseId lease) {
  if (!leases_.contains(lease)) {
    return absl::NotFoundError(weft::strCat("lease ", lease, " has expired or never existed"));
  }
  if (auto st = removeLeaseKeys(lease); !st.ok()) return st;
  if (auto st = append(json({{"op", "revoke"}, {"id", lease}}).dump(), false); !st.ok()) {
    return st;
  }
  leases_.erase(lease);
  return absl::OkStatus();
}

absl::StatusOr<size_t> FileStore::expireLeases(Clock::time_point now) {
  std::vector<LeaseId> expired;
  for (const auto& [id, lease] : leases_) {
    if (lease.deadline <= now) expired.push_back(id);
  }
  for (LeaseId id : expired) {
    if (auto st = revokeLease(id); !st.ok()) return st;
  }
  return expired.size();
}

}  // namespace weft::control::store
