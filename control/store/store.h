#pragma once

// weft-control's durable state, on etcd's model so that a replicated backend (etcd itself, for
// several weft-control replicas) can take the place of the file one (file_store.h): every change
// gets the next revision; reads list what is there now; a watcher asks for the changes after the
// revision it last saw (OutOfRange when they are older than the history kept: list again);
// registrations hang on leases and go when their lease is not kept alive.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace weft::control::store {

using Revision = int64_t;
using LeaseId = int64_t;
using Clock = std::chrono::steady_clock;

struct KeyValue {
  std::string key;
  std::string value;
  Revision create_revision = 0;
  Revision mod_revision = 0;
  LeaseId lease = 0;  // 0: none
};

// One write of a transaction (commit): all of them or none.
struct Op {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  std::string key;
  std::string value = {};  // kPut
  // As for put(): Aborted unless the key's mod_revision is this (0: must not exist).
  std::optional<Revision> expected_mod_revision = std::nullopt;
  LeaseId lease = 0;  // kPut
};

struct Event {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // for a delete: the key, with mod_revision the deletion's revision
};

class Store {
 public:
  virtual ~Store() = default;

  virtual Revision revision() const = 0;
  virtual std::optional<KeyValue> get(std::string_view key) const = 0;
  // Every key under `prefix`, in key order.
  virtual std::vector<KeyValue> list(std::string_view prefix) const = 0;

  // Durable when it returns (a key under a lease: see the backend's comment on syncing). With
  // `expected_mod_revision`, Aborted unless the key's
  // mod_revision is that (0: the key must not exist) — a stale update gets 409.
  virtual absl::StatusOr<Revision> put(std::string_view key, std::string_view value,
                                       std::optional<Revision> expected_mod_revision = {},
                                       LeaseId lease = 0) = 0;
  // NotFound when there is no such key.
  virtual absl::StatusOr<Revision> remove(std::string_view key,
                                          std::optional<Revision> expected_mod_revision = {}) = 0;

  // Every op or none, under one new revision (etcd's Txn): an apply of several resources never
  // shows half done, not even after a crash. Every compare is checked before anything is written;
  // a delete of a key that is not there is NotFound. Durable when it returns.
  virtual absl::StatusOr<Revision> commit(const std::vector<Op>& ops) = 0;

  // The changes under `prefix` after revision `after`, oldest first.
  virtual absl::StatusOr<std::vector<Event>> changesSince(std::string_view prefix,
                                                          Revision after) const = 0;
  // Runs after every change, on the caller's thread (weft-control's main thread).
  virtual void onChange(std::function<void(const Event&)> callback) = 0;

  virtual absl::StatusOr<LeaseId> grantLease(std::chrono::seconds ttl, Clock::time_point now) = 0;
  // NotFound for a lease that expired or was never granted.
  virtual absl::Status keepAlive(LeaseId lease, Clock::time_point now) = 0;
  // Ends the lease and deletes its keys.
  virtual absl::Status revokeLease(LeaseId lease) = 0;
  // Revokes every lease not kept alive by `now`; how many.
  virtual absl::StatusOr<size_t> expireLeases(Clock::time_point now) = 0;
};

}  // namespace weft::control::store
