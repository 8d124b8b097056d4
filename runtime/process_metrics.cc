#include "runtime/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace weft::runtime {
namespace {

prometheus::MetricFamily family(const char* name, const char* help, prometheus::MetricType type,
                                double value) {
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return prometheus::MetricFamily{name, help, type, {m}};
}

// Fields 14 and 15 (utime, stime, in clock ticks) and 22 (starttime, ticks after boot) of
// /proc/self/stat; the command name (field 2) may hold spaces, so count from its ')'.
struct Stat {
  double cpu_seconds = 0;
  double start_ticks = 0;
};

Stat readStat() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  Stat stat;
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return stat;
  std::istringstream fields(line.substr(close + 2));  // from field 3
  std::string field;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  for (int i = 3; fields >> field; ++i) {
    if (i == 14 || i == 15) stat.cpu_seconds += std::stod(field) / ticks;
    if (i == 22) {
      stat.start_ticks = std::stod(field);
      break;
    }
  }
  return stat;
}

double bootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime") {
      in >> value;
      return value;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

}  // namespace

ProcessMetrics::ProcessMetrics() {
  start_time_seconds_ =
      bootTimeSeconds() + readStat().start_ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::vector<prometheus::MetricFamily> ProcessMetrics::Collect() const {
  const Stat stat = readStat();
  double rss = 0, vsize = 0;
  {
    std::ifstream in("/proc/self/statm");
    double pages = 0, resident = 0;
    in >> pages >> resident;
    const auto page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    vsize = pages * page;
    rss = resident * page;
  }
  double fds = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  rlimit limit{};
  const double max_fds =
      ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? static_cast<double>(limit.rlim_cur) : 0;
  using prometheus::MetricType;
  return {
      family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
             MetricType::Counter, stat.cpu_seconds),
      family("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
             rss),
      family("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
             vsize),
      family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, fds),
      family("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge,
             max_fds),
      family("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
             MetricType::Gauge, start_time_seconds_),
  };
}

std::vector<prometheus::MetricFamily> withProcessMetrics(
    std::vector<prometheus::MetricFamily> families) {
  static const ProcessMetrics process;
  for (prometheus::MetricFamily& f : process.Collect()) families.push_back(std::move(f));
  return families;
}

}  // namespace weft::runtime
