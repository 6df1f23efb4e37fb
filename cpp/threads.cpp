#include <atomic>

#include "image.hpp"

namespace fxr {

namespace {
std::atomic<int> configured_threads{0};  // 0: one per hardware thread
}

int thread_count() {
    const int configured = configured_threads.load();
    if (configured > 0) return configured;
    const unsigned hardware = std::thread::hardware_concurrency();
    return hardware > 0 ? static_cast<int>(hardware) : 1;
}

void set_thread_count(int threads) { configured_threads.store(threads > 0 ? threads : 0); }

}  // namespace fxr
