// Device helpers shared by the CUDA ops (included by .cu files only).
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "kernels.cuh"

namespace fxr::cuda {

// Throws with the CUDA error text when `status` is not cudaSuccess.
inline void check(cudaError_t status, const char* what) {
    if (status != cudaSuccess) {
        throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
    }
}

// Checks the launch that was just enqueued (bad configuration, missing
// kernel image for this GPU, ...). Execution errors surface at the caller's
// next synchronisation, as they do for every asynchronous CUDA library.
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

inline unsigned blocks_for(int64_t count, unsigned threads) {
    return static_cast<unsigned>((count + threads - 1) / threads);
}

// Calls launch(first, count) over consecutive chunks of the batch, so a
// per-sample grid dimension (gridDim.y/z, at most 65535) never overflows.
template <typename Launch>
void for_batch_chunks(int64_t batch, Launch launch) {
    constexpr int64_t kMaxGridSamples = 65535;
    for (int64_t first = 0; first < batch; first += kMaxGridSamples) {
        launch(first, batch - first < kMaxGridSamples ? batch - first : kMaxGridSamples);
    }
}

// OpenCV's BORDER_REFLECT_101 (gfedcb|abcdefgh|gfedcba), repeated for
// offsets larger than the image, as cv::borderInterpolate does.
__device__ __forceinline__ int reflect_101(int position, int length) {
    if (length == 1) return 0;
    while (position < 0 || position >= length) {
        position = position < 0 ? -position : 2 * (length - 1) - position;
    }
    return position;
}

__device__ __forceinline__ float clamp_unit(float value) { return fminf(1.0f, fmaxf(0.0f, value)); }

}  // namespace fxr::cuda
