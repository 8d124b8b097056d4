#pragma once

// The Store weft-control keeps under --data-dir (DIR/store): an append-only log of changes (one
// record per commit; put() and remove() are one-op commits), each record written before the
// write returns, and a snapshot written atomically once the log grows past kCompactAfter records
// (then the log starts over). Opening replays the snapshot and the log; a torn last record (a
// crash in the middle of a write) is cut off, so `kill -9` at any moment loses nothing that was
// acknowledged. A write that fails (a full disk) changes nothing, in memory or on disk, and says
// why. Leases are kept in the log too; after a restart every lease gets its full ttl again, or
// the restore grace when that is longer, so registrations have that long to be kept alive —
// weft-control gives them a minute: proxies back off up to 30 s (+50% jitter) between tries,
// and a thousand of them queue for TLS handshakes. Without it, a restart longer than the ttl
// would empty every Service's endpoints at once and fail traffic until the proxies are back.
//
// What is synced: a record is fdatasync'd before the write returns — policy survives a power
// cut — except leases and commits that only touch keys under a lease (registrations), which are
// written but not synced: they survive the process's crash (the page cache has them), the next
// synced record carries them to the disk, and only an OS crash can lose them, which costs no
// more than the proxies registering again when they reconnect. A thousand proxies reconnecting
// at once would otherwise wait for two thousand fsyncs, one after another.

#include <deque>
#include <map>
#include <memory>

#include "control/store/store.h"

namespace weft::control::store {

class FileStore final : public Store {
 public:
  static constexpr size_t kCompactAfter = 1000;
  static constexpr size_t kHistory = 10000;  // events kept for changesSince

  // Leases found in `dir` are kept alive until now + max(their ttl, restore_grace): long enough
  // for their holders to come back after a restart (see below).
  static absl::StatusOr<std::unique_ptr<FileStore>> open(
      const std::string& dir, Clock::time_point now,
      std::chrono::seconds restore_grace = std::chrono::seconds(0));
  ~FileStore() override;

  Revision revision() const override { return revision_; }
  std::optional<KeyValue> get(std::string_view key) const override;
  std::vector<KeyValue> list(std::string_view prefix) const override;
  absl::StatusOr<Revision> put(std::string_view key, std::string_view value,
                               std::optional<Revision> expected_mod_revision = {},
                               LeaseId lease = 0) override;
  absl::StatusOr<Revision> remove(std::string_view key,
                                  std::optional<Revision> expected_mod_revision = {}) override;
  absl::StatusOr<Revision> commit(const std::vector<Op>& ops) override;
  absl::StatusOr<std::vector<Event>> changesSince(std::string_view prefix,
                                                  Revision after) const override;
  void onChange(std::function<void(const Event&)> callback) override;
  absl::StatusOr<LeaseId> grantLease(std::chrono::seconds ttl, Clock::time_point now) override;
  absl::Status keepAlive(LeaseId lease, Clock::time_point now) override;
  absl::Status revokeLease(LeaseId lease) override;
  absl::StatusOr<size_t> expireLeases(Clock::time_point now) override;

 private:
  struct Lease {
    std::chrono::seconds ttl;
    Clock::time_point deadline;
  };

  explicit FileStore(std::string dir) : dir_(std::move(dir)) {}
  absl::Status load(Clock::time_point now);
  // Appends one record and fsyncs it; on failure the log is as it was.
  // Writes one record; with `sync`, fdatasync before returning (see the header comment).
  absl::Status append(const std::string& record, bool sync = true);
  absl::Status compactIfDue();
  void applied(Event event);
  absl::Status removeLeaseKeys(LeaseId lease);

  std::string dir_;
  int log_fd_ = -1;
  size_t log_records_ = 0;
  Revision revision_ = 0;
  Revision compacted_ = 0;  // changesSince knows nothing at or before this
  LeaseId next_lease_ = 1;
  std::map<std::string, KeyValue, std::less<>> kvs_;
  std::map<LeaseId, Lease> leases_;
  std::deque<Event> history_;
  std::vector<std::function<void(const Event&)>> watchers_;
};

}  // namespace weft::control::store
