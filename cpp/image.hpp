// Shared pieces of the CPU ops: a contiguous batch view, the thread setting
// and a parallel loop over the batch.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

// Hot loops are compiled twice, for AVX2 and for the x86-64 baseline, and
// the loader picks one per machine; the wheel stays portable (no -march).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define FXR_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FXR_VECTOR_CLONES
#endif

namespace fxr {

// A C-contiguous batch of images, N x H x W x C. The Python layer reshapes
// every accepted rank (H x W, H x W x C, N x H x W x C) into this form, which
// is free for contiguous arrays.
template <typename T>
struct Batch {
    T* data;
    std::ptrdiff_t count;
    std::ptrdiff_t height;
    std::ptrdiff_t width;
    std::ptrdiff_t channels;

    std::ptrdiff_t image_size() const { return height * width * channels; }
    std::ptrdiff_t row_size() const { return width * channels; }
    T* image(std::ptrdiff_t n) const { return data + n * image_size(); }
};

// Large buffers from a cache of freed ones (buffers.cpp explains why).
// take_buffer throws std::bad_alloc; give_buffer takes only its pointers.
void* take_buffer(std::size_t bytes);
void give_buffer(void* data);

// Scratch space of count values from that cache, returned when it goes.
template <typename T>
class Scratch {
public:
    explicit Scratch(std::size_t count)
        : data_(static_cast<T*>(take_buffer(count * sizeof(T)))) {}
    ~Scratch() { give_buffer(data_); }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    T* data() const { return data_; }

private:
    T* data_;
};

// Number of worker threads the batch ops use; 1 runs on the calling thread.
int thread_count();
void set_thread_count(int threads);

// Run body(i) for i in [0, count) over up to thread_count() threads. Each
// thread takes whole items, so per-image work stays on one core. The first
// exception thrown by any item is rethrown here after all threads joined.
template <typename Body>
void parallel_for(std::ptrdiff_t count, Body body) {
    const std::ptrdiff_t workers =
        std::min<std::ptrdiff_t>(std::max(1, thread_count()), count);
    if (workers <= 1) {
        for (std::ptrdiff_t i = 0; i < count; ++i) body(i);
        return;
    }
    std::exception_ptr failure;
    std::mutex failure_lock;
    auto run = [&](std::ptrdiff_t first) {
        try {
            for (std::ptrdiff_t i = first; i < count; i += workers) body(i);
        } catch (...) {
            std::lock_guard<std::mutex> guard(failure_lock);
            if (!failure) failure = std::current_exception();
        }
    };
    std::vector<std::thread> pool;
    pool.reserve(static_cast<std::size_t>(workers - 1));
    for (std::ptrdiff_t t = 1; t < workers; ++t) pool.emplace_back(run, t);
    run(0);
    for (auto& thread : pool) thread.join();
    if (failure) std::rethrow_exception(failure);
}

// OpenCV's BORDER_REFLECT_101 index for any offset, also when the kernel is
// wider than the image (the reflection then repeats).
inline std::ptrdiff_t reflect_101(std::ptrdiff_t index, std::ptrdiff_t length) {
    if (index >= 0 && index < length) return index;  // inside: no division
    if (length == 1) return 0;
    const std::ptrdiff_t period = 2 * (length - 1);
    index %= period;
    if (index < 0) index += period;
    return index < length ? index : period - index;
}

// Index of the first value > 0 of a row (length when none), and of the last
// (-1 when none); vectorised, so the long empty stretches of a face mask
// cost little. NaN counts as > 0 here, so a NaN is never skipped unseen.
std::ptrdiff_t first_positive(const float* row, std::ptrdiff_t length);
std::ptrdiff_t last_positive(const float* row, std::ptrdiff_t length);

// True when every value of a row is +0 (all bits zero; float or uint8). The
// blur and the warp give +0 exactly wherever all they read is +0 (every
// product and sum is then +0), so they leave such stretches out.
template <typename T>
bool all_zero_bits(const T* row, std::ptrdiff_t length);

// Written as selects rather than std::min/max so GCC vectorises loops using it.
inline float clamp_unit(float value) {
    value = value > 0.0f ? value : 0.0f;
    return value < 1.0f ? value : 1.0f;
}

// Round to nearest (ties to even) and clamp, as OpenCV's saturate_cast does.
inline std::uint8_t saturate_u8(float value) {
    const float clamped = std::min(255.0f, std::max(0.0f, value));
    return static_cast<std::uint8_t>(std::lrint(clamped));
}

}  // namespace fxr
