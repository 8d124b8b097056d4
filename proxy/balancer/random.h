#pragma once

#include <cstdint>
#include <random>

namespace weft::balancer {

// A small, fast pseudo-random generator for per-request choices (weighted backends, the two
// candidates of power-of-two-choices). xoshiro256** (Blackman & Vigna), seeded through
// splitmix64. Not cryptographic. One per worker: it is not thread-safe and needs no lock.
// Seed it with a fixed value in tests for reproducible sequences.
class Random {
 public:
  // Seeded from std::random_device: every worker gets its own sequence.
  Random() : Random(entropySeed()) {}
  explicit Random(uint64_t seed) { reseed(seed); }

  void reseed(uint64_t seed) {
    for (uint64_t& word : s_) word = splitmix64(seed);
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n); n must be > 0. Lemire's multiply-shift: no division, and a bias below
  // n / 2^64, far under anything a request split can show.
  uint64_t below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }

  // Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  static uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  static uint64_t entropySeed() {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }

  uint64_t s_[4];
};

}  // namespace weft::balancer
