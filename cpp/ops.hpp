// Entry points of the CPU kernels, called by bindings.cpp. Every function
// works on whole contiguous batches and may be called without the GIL.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "image.hpp"

namespace fxr {

// Delaunay triangulation of count points (x, y interleaved). Throws
// std::invalid_argument for fewer than 3 points, coinciding points or points
// that are all collinear. Triangles are returned counter-clockwise.
std::vector<std::array<int, 3>> delaunay(const double* points, int count);

// out(dst) = in(src), bilinear, fill outside the triangulated hull of the
// destination points. Points are point_sets x count x 2 with point_sets
// either 1 (shared by the batch) or the batch size.
template <typename T>
void warp_piecewise_affine(const Batch<const T>& input, const Batch<T>& output,
                           const double* source, const double* destination,
                           std::ptrdiff_t point_sets, int count, float fill);

// OpenCV's Gaussian kernel of an odd size; sigma <= 0 derives it from size.
std::vector<float> gaussian_kernel(int size, double sigma);

// Separable Gaussian blur with BORDER_REFLECT_101, output may not alias input.
template <typename T>
void gaussian_blur(const Batch<const T>& input, const Batch<T>& output, int kernel_x,
                   int kernel_y, double sigma_x, double sigma_y);

// Shift the foreground's per-channel mean (and optionally scale its standard
// deviation) inside mask > 0 to the background's.
void colour_transfer(const Batch<const float>& foreground, const Batch<const float>& background,
                     const Batch<const float>& mask, const Batch<float>& output,
                     bool match_std);

// Which colour correction blend_with_xray applies to the foreground first.
enum class Colour { none, mean, mean_std };

// Eq. 1: output = mask * foreground + (1 - mask) * background. Throws
// std::invalid_argument when either image holds NaN or infinity.
void blend(const Batch<const float>& foreground, const Batch<const float>& background,
           const Batch<const float>& mask, const Batch<float>& output);

// Eq. 2: xray = 4 * mask * (1 - mask).
void face_xray(const Batch<const float>& mask, const Batch<float>& xray);

// The 3 x 3 Gaussian softening, the Eq. 1 blend with the softened mask and
// the Eq. 2 X-ray of it, in one pass over the rows. With a colour mode the
// foreground is colour-corrected as colour_transfer does (statistics inside
// mask > 0 of the unsoftened mask): the statistics are gathered in that same
// pass, and a second pass adds the correction's share, s * (corrected - f),
// where the softened mask s is > 0. Throws std::invalid_argument when either
// image holds NaN or infinity (checked a row at a time in the first pass).
void blend_with_xray(const Batch<const float>& foreground, const Batch<const float>& background,
                     const Batch<const float>& mask, const Batch<float>& image,
                     const Batch<float>& xray, const Batch<float>& softened,
                     Colour colour = Colour::none);

// True when no value is NaN or infinite.
bool all_finite(const float* data, std::ptrdiff_t size);

// True when every value is finite and lies within [low, high].
bool all_within(const float* data, std::ptrdiff_t size, float low, float high);

}  // namespace fxr
