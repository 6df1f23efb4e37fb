// A small cache of large buffers for op outputs and scratch space.
//
// Once a process has loaded libraries that fix glibc's mmap threshold (torch
// and SciPy's OpenBLAS do), every array of more than 128 KiB is a fresh
// mapping, and the page faults of touching it cost more than the ops
// themselves (about 600 faults, 1.4 ms, per 256 x 256 blending sample).
// Reusing freed buffers keeps those pages mapped.
#include <pthread.h>

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "image.hpp"

namespace fxr {

namespace {

constexpr std::size_t kHeader = 64;                 // keeps the data 64-byte aligned
constexpr std::size_t kGranule = 4096;              // sizes round up to whole pages
constexpr std::size_t kCacheLimit = 256u << 20;     // bytes kept for reuse at most

struct Cache {
    std::mutex lock;
    std::unordered_map<std::size_t, std::vector<void*>> free_by_size;
    std::size_t cached = 0;
};

Cache& cache() {
    // Never destroyed: arrays may outlive the module's static destructors.
    static Cache* instance = [] {
        auto* created = new Cache();
        // A fork (DataLoader workers) while another thread holds the lock
        // would leave the child's copy locked forever: hold it across fork.
        pthread_atfork([] { cache().lock.lock(); }, [] { cache().lock.unlock(); },
                       [] { cache().lock.unlock(); });
        return created;
    }();
    return *instance;
}

}  // namespace

void* take_buffer(std::size_t bytes) {
    const std::size_t size = (std::max<std::size_t>(bytes, 1) + kGranule - 1) / kGranule * kGranule;
    {
        Cache& pool = cache();
        std::lock_guard<std::mutex> guard(pool.lock);
        auto found = pool.free_by_size.find(size);
        if (found != pool.free_by_size.end() && !found->second.empty()) {
            void* data = found->second.back();
            found->second.pop_back();
            pool.cached -= size;
            return data;
        }
    }
    char* base = static_cast<char*>(std::aligned_alloc(kHeader, size + kHeader));
    if (base == nullptr) throw std::bad_alloc();
    *reinterpret_cast<std::size_t*>(base) = size;
    return base + kHeader;
}

void give_buffer(void* data) {
    if (data == nullptr) return;
    char* base = static_cast<char*>(data) - kHeader;
    const std::size_t size = *reinterpret_cast<std::size_t*>(base);
    {
        Cache& pool = cache();
        std::lock_guard<std::mutex> guard(pool.lock);
        if (pool.cached + size <= kCacheLimit) {
            pool.free_by_size[size].push_back(data);
            pool.cached += size;
            return;
        }
    }
    std::free(base);
}

}  // namespace fxr
