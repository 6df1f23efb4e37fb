// CUDA ops of the blending pipeline: host-side launchers.
//
// Every launcher takes device pointers to contiguous float32 N×H×W×C batches
// (masks have C = 1), enqueues its kernels on the caller's stream and returns
// without synchronising. Outputs are caller-allocated and never alias inputs.
// A launch or argument error is reported as std::runtime_error /
// std::invalid_argument (the bindings turn them into Python exceptions).
//
// This header holds declarations only, so the plain C++ bindings can include it.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace fxr::cuda {

// Dimensions of a contiguous N×H×W×C float32 batch.
struct Shape {
    int64_t batch;
    int64_t height;
    int64_t width;
    int64_t channels;
};

// Piecewise-affine warp, out(destination) = in(source), bilinear.
// `source_points` / `destination_points` hold P (x, y) pairs, per sample
// (N×P×2) when `points_per_sample`, else one set for the whole batch (P×2).
// `triangles` holds T vertex-index triples into those points, a triangulation
// of the destination points (N×T×3 int32 when `triangles_per_sample`, else
// T×3); rows of -1 pad samples with fewer triangles. Pixels outside every
// destination triangle get `fill`.
void warp_piecewise_affine(const float* image, float* output, Shape shape,
                           const float* source_points, const float* destination_points,
                           int64_t point_count, bool points_per_sample,
                           const int32_t* triangles, int64_t triangle_count,
                           bool triangles_per_sample, float fill, cudaStream_t stream);

// Largest triangulation warp_piecewise_affine accepts (each triangle takes
// 128 bytes of shared memory).
constexpr int64_t kMaxTriangles = 1024;

// Separable Gaussian blur with BORDER_REFLECT_101. `kernel_x` / `kernel_y`
// are host arrays of odd length (the 1-D weights, already normalised).
void gaussian_blur(const float* image, float* output, Shape shape,
                   const float* kernel_x, int64_t size_x, const float* kernel_y, int64_t size_y,
                   cudaStream_t stream);

// The same blur with a kernel per sample: `weights_x` / `weights_y` are
// device tables N×size_x and N×size_y (odd sizes up to kMaxSampleKernel),
// each row a kernel zero-padded around its centre to the common size, which
// leaves the sums unchanged.
void gaussian_blur_per_sample(const float* image, float* output, Shape shape,
                              const float* weights_x, int64_t size_x, const float* weights_y,
                              int64_t size_y, cudaStream_t stream);

constexpr int64_t kMaxSampleKernel = 65;

// Per-sample, per-channel colour transfer: statistics of `foreground` and
// `background` inside mask > 0 (mask is N×H×W×1); the foreground is shifted
// to the background mean (and scaled to its standard deviation when
// `match_std`, or per sample where `match_std_per_sample`, N int32, is given
// and nonzero). Samples with an empty mask are copied unchanged.
void colour_transfer(const float* foreground, const float* background, const float* mask,
                     float* output, Shape shape, bool match_std,
                     const int32_t* match_std_per_sample, cudaStream_t stream);

// Eq. 1: output = mask·foreground + (1 − mask)·background (mask N×H×W×1).
void blend(const float* foreground, const float* background, const float* mask, float* output,
           Shape shape, cudaStream_t stream);

// Eq. 2: xray = 4·mask·(1 − mask), elementwise over `count` values.
void face_xray(const float* mask, float* xray, int64_t count, cudaStream_t stream);

// Fused: soften the mask with the 3×3 Gaussian (BORDER_REFLECT_101), blend
// with Eq. 1 and compute the Eq. 2 X-ray, in one pass over the pixels.
void blend_with_xray(const float* foreground, const float* background, const float* mask,
                     float* image, float* xray, float* softened, Shape shape, cudaStream_t stream);

}  // namespace fxr::cuda
