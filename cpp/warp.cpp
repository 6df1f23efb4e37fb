// Piecewise-affine warp: one inverse affine map per triangle of the destination
// points' Delaunay triangulation (delaunay.cpp), scanline rasterisation,
// bilinear sampling with a constant fill outside the image and outside the hull.
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "delaunay.hpp"
#include "ops.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FXR_AVX2_SAMPLER 1
#endif

namespace fxr {

namespace {

// Bilinear sample at (x, y) with taps outside the image taking the fill
// value, as scikit-image's warp does with mode="constant".
template <typename T>
inline float sample_checked(const T* image, std::ptrdiff_t height, std::ptrdiff_t width,
                            std::ptrdiff_t channels, std::ptrdiff_t channel, float x, float y,
                            float fill) {
    // Far outside (or NaN from a degenerate map): every tap is fill. This
    // also keeps the float-to-integer conversions below in range.
    if (!(x > -2.0f && y > -2.0f && x < width + 1.0f && y < height + 1.0f)) return fill;
    const float x_floor = std::floor(x), y_floor = std::floor(y);
    const float fx = x - x_floor, fy = y - y_floor;
    const std::ptrdiff_t x0 = static_cast<std::ptrdiff_t>(x_floor);
    const std::ptrdiff_t y0 = static_cast<std::ptrdiff_t>(y_floor);
    auto tap = [&](std::ptrdiff_t xi, std::ptrdiff_t yi) -> float {
        if (xi < 0 || yi < 0 || xi >= width || yi >= height) return fill;
        return static_cast<float>(image[(yi * width + xi) * channels + channel]);
    };
    const float top = tap(x0, y0) + fx * (tap(x0 + 1, y0) - tap(x0, y0));
    const float bottom = tap(x0, y0 + 1) + fx * (tap(x0 + 1, y0 + 1) - tap(x0, y0 + 1));
    return top + fy * (bottom - top);
}

template <typename T>
inline void store(T* target, float value) {
    if constexpr (std::is_same_v<T, std::uint8_t>)
        *target = saturate_u8(value);
    else
        *target = value;
}

// A span of one-channel output pixels whose taps all lie inside the image:
// a straight loop the compiler vectorises with (emulated) gathers. Rounding
// can push a coordinate a hair past the margin, so the taps are clamped to
// stay inside.
template <typename T>
FXR_VECTOR_CLONES void sample_span_single(const T* __restrict input, T* __restrict output,
                                          int length, float x_start, float y_start, float step_x,
                                          float step_y, int width, int height) {
    for (int i = 0; i < length; ++i) {
        const float x = x_start + step_x * i, y = y_start + step_y * i;
        int x0 = static_cast<int>(x);
        x0 = x0 < 0 ? 0 : x0;
        x0 = x0 > width - 2 ? width - 2 : x0;
        int y0 = static_cast<int>(y);
        y0 = y0 < 0 ? 0 : y0;
        y0 = y0 > height - 2 ? height - 2 : y0;
        const float fx = x - x0, fy = y - y0;
        const int at = y0 * width + x0;
        const float v00 = input[at], v01 = input[at + 1];
        const float v10 = input[at + width], v11 = input[at + width + 1];
        const float top = v00 + fx * (v01 - v00);
        const float bottom = v10 + fx * (v11 - v10);
        store(output + i, top + fy * (bottom - top));
    }
}

#ifdef FXR_AVX2_SAMPLER
// sample_span_single for float with AVX2, eight pixels a step. A pixel's two
// horizontal taps are adjacent, so one 64-bit load brings both: two loads a
// pixel where the compiler's emulated gather makes four (AVX2's gather
// instructions measured slower still). The arithmetic is the scalar loop's,
// in its order and without FMA, so both give the same bits. The clamped taps
// are inside the image for any lane, so the last, partial step computes all
// eight and stores only the span's.
__attribute__((target("avx2"))) void sample_span_single_avx2(
    const float* __restrict input, float* __restrict output, int length, float x_start,
    float y_start, float step_x, float step_y, int width, int height) {
    const __m256i lane_numbers = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 lanes = _mm256_cvtepi32_ps(lane_numbers);
    const __m256 start_x = _mm256_set1_ps(x_start), start_y = _mm256_set1_ps(y_start);
    const __m256 steps_x = _mm256_set1_ps(step_x), steps_y = _mm256_set1_ps(step_y);
    const __m256i zero = _mm256_setzero_si256();
    const __m256i last_x = _mm256_set1_epi32(width - 2), last_y = _mm256_set1_epi32(height - 2);
    const __m256i stride = _mm256_set1_epi32(width);
    const float* below = input + width;
    // In chunks: first every offset and weight, then the taps, so no load
    // waits on the latency of its own index arithmetic.
    constexpr int kChunk = 64;
    alignas(32) std::uint32_t offsets[kChunk];
    alignas(32) float weights_x[kChunk], weights_y[kChunk];
    for (int chunk = 0; chunk < length; chunk += kChunk) {
        const int end = std::min(length - chunk, kChunk);
        for (int j = 0; j < end; j += 8) {
            const __m256 index =
                _mm256_add_ps(_mm256_set1_ps(static_cast<float>(chunk + j)), lanes);
            const __m256 x = _mm256_add_ps(start_x, _mm256_mul_ps(steps_x, index));
            const __m256 y = _mm256_add_ps(start_y, _mm256_mul_ps(steps_y, index));
            const __m256i x0 =
                _mm256_min_epi32(_mm256_max_epi32(_mm256_cvttps_epi32(x), zero), last_x);
            const __m256i y0 =
                _mm256_min_epi32(_mm256_max_epi32(_mm256_cvttps_epi32(y), zero), last_y);
            _mm256_store_ps(weights_x + j, _mm256_sub_ps(x, _mm256_cvtepi32_ps(x0)));
            _mm256_store_ps(weights_y + j, _mm256_sub_ps(y, _mm256_cvtepi32_ps(y0)));
            _mm256_store_si256(reinterpret_cast<__m256i*>(offsets + j),
                               _mm256_add_epi32(_mm256_mullo_epi32(y0, stride), x0));
        }
        for (int j = 0; j < end; j += 8) {
            const std::uint32_t* at = offsets + j;
            // Pixels a and b of a row as [a left, a right, b left, b right].
            auto pairs = [&](int a, int b, const float* row) {
                const auto* left = reinterpret_cast<const __m128i*>(row + at[a]);
                const auto* right = reinterpret_cast<const __m128i*>(row + at[b]);
                return _mm_castsi128_ps(
                    _mm_unpacklo_epi64(_mm_loadl_epi64(left), _mm_loadl_epi64(right)));
            };
            const __m256 fx = _mm256_load_ps(weights_x + j), fy = _mm256_load_ps(weights_y + j);
            const __m256 top_a = _mm256_set_m128(pairs(4, 5, input), pairs(0, 1, input));
            const __m256 top_b = _mm256_set_m128(pairs(6, 7, input), pairs(2, 3, input));
            const __m256 bottom_a = _mm256_set_m128(pairs(4, 5, below), pairs(0, 1, below));
            const __m256 bottom_b = _mm256_set_m128(pairs(6, 7, below), pairs(2, 3, below));
            const __m256 v00 = _mm256_shuffle_ps(top_a, top_b, _MM_SHUFFLE(2, 0, 2, 0));
            const __m256 v01 = _mm256_shuffle_ps(top_a, top_b, _MM_SHUFFLE(3, 1, 3, 1));
            const __m256 v10 = _mm256_shuffle_ps(bottom_a, bottom_b, _MM_SHUFFLE(2, 0, 2, 0));
            const __m256 v11 = _mm256_shuffle_ps(bottom_a, bottom_b, _MM_SHUFFLE(3, 1, 3, 1));
            const __m256 top = _mm256_add_ps(v00, _mm256_mul_ps(fx, _mm256_sub_ps(v01, v00)));
            const __m256 bottom = _mm256_add_ps(v10, _mm256_mul_ps(fx, _mm256_sub_ps(v11, v10)));
            const __m256 value =
                _mm256_add_ps(top, _mm256_mul_ps(fy, _mm256_sub_ps(bottom, top)));
            float* target = output + chunk + j;
            if (j + 8 <= end)
                _mm256_storeu_ps(target, value);
            else
                _mm256_maskstore_ps(
                    target, _mm256_cmpgt_epi32(_mm256_set1_epi32(end - j), lane_numbers), value);
        }
    }
}

// The AVX2 span where the CPU has AVX2 (checked once), else the portable one.
void sample_span(const float* input, float* output, int length, float x_start, float y_start,
                 float step_x, float step_y, int width, int height) {
    static const bool avx2 = __builtin_cpu_supports("avx2");
    if (avx2)
        sample_span_single_avx2(input, output, length, x_start, y_start, step_x, step_y, width,
                                height);
    else
        sample_span_single(input, output, length, x_start, y_start, step_x, step_y, width,
                           height);
}
#endif

// Any other element type, or a build without the AVX2 span.
template <typename T>
void sample_span(const T* input, T* output, int length, float x_start, float y_start,
                 float step_x, float step_y, int width, int height) {
    sample_span_single(input, output, length, x_start, y_start, step_x, step_y, width, height);
}

// Channels is a compile-time count for the common 1- and 3-channel cases
// (0: use the runtime count), so the inner loops unroll. Cloned like the hot
// loops: the per-row span bounds use ceil and floor, single instructions
// with SSE4.1 but long sequences in the x86-64 baseline. It must not throw
// (the triangulation, which can, is done by the caller): GCC's clone
// dispatcher is taken not to throw, so an exception would skip the caller's
// handler.
template <typename T, int Channels>
FXR_VECTOR_CLONES void warp_image(const T* input, T* output, std::ptrdiff_t height,
                                  std::ptrdiff_t width, std::ptrdiff_t runtime_channels,
                                  const double* source, const double* destination,
                                  const std::vector<std::array<int, 3>>& triangles, float fill) {
    const std::ptrdiff_t channels = Channels > 0 ? Channels : runtime_channels;
    {
        T fill_value;
        store(&fill_value, fill);
        std::fill(output, output + height * width * channels, fill_value);
    }
    // zero_rows_before[k]: how many of the input's rows [0, k) are all +0.
    // Where every tap of a span lies in such rows its pixels are +0 exactly
    // (each difference, product and sum is +0), so the span is not sampled.
    std::vector<int> zero_rows_before(static_cast<std::size_t>(height + 1), 0);
    for (std::ptrdiff_t y = 0; y < height; ++y)
        zero_rows_before[y + 1] =
            zero_rows_before[y] + all_zero_bits(input + y * width * channels, width * channels);
    for (const auto& triangle : triangles) {
        Point d[3], s[3];
        for (int k = 0; k < 3; ++k) {
            d[k] = {destination[2 * triangle[k]], destination[2 * triangle[k] + 1]};
            s[k] = {source[2 * triangle[k]], source[2 * triangle[k] + 1]};
        }
        // Skip slivers: rounding in the triangulation can leave one along
        // (nearly) collinear points. It covers no area, and the pixel centres
        // on its long edge belong to its neighbour, whose map is well defined.
        const double determinant = orient(d[0], d[1], d[2]);
        double longest = 0.0;
        for (int k = 0; k < 3; ++k)
            longest = std::max(longest, std::hypot(d[(k + 1) % 3].x - d[k].x,
                                                   d[(k + 1) % 3].y - d[k].y));
        if (!(determinant > 1e-10 * longest * longest)) continue;
        // Affine map destination -> source through barycentric coordinates.
        const double i00 = (d[2].y - d[0].y) / determinant, i01 = -(d[2].x - d[0].x) / determinant;
        const double i10 = -(d[1].y - d[0].y) / determinant, i11 = (d[1].x - d[0].x) / determinant;
        const double s00 = s[1].x - s[0].x, s01 = s[2].x - s[0].x;
        const double s10 = s[1].y - s[0].y, s11 = s[2].y - s[0].y;
        const double ax = s00 * i00 + s01 * i10, bx = s00 * i01 + s01 * i11;
        const double ay = s10 * i00 + s11 * i10, by = s10 * i01 + s11 * i11;
        const double cx = s[0].x - ax * d[0].x - bx * d[0].y;
        const double cy = s[0].y - ay * d[0].x - by * d[0].y;

        const double low_y = std::min({d[0].y, d[1].y, d[2].y});
        const double high_y = std::max({d[0].y, d[1].y, d[2].y});
        // Clamp in floating point before converting, so no coordinate can
        // overflow the integer conversion.
        const double row_top = std::max(0.0, std::ceil(low_y - 1e-7));
        const double row_bottom = std::min(height - 1.0, std::floor(high_y + 1e-7));
        if (!(row_top <= row_bottom)) continue;
        const std::ptrdiff_t row_first = static_cast<std::ptrdiff_t>(row_top);
        const std::ptrdiff_t row_last = static_cast<std::ptrdiff_t>(row_bottom);
        // Each edge a->b keeps the points with orient(a, b, p) >= -1e-7 |b - a|
        // (pixel centres on an edge count as inside). On row y that reads
        // slope * x >= constant + per_row * y: a bound on x.
        double slope[3], constant[3], per_row[3], reciprocal[3];
        for (int k = 0; k < 3; ++k) {
            const Point& a = d[k];
            const Point& b = d[(k + 1) % 3];
            slope[k] = -(b.y - a.y);
            per_row[k] = -(b.x - a.x);
            constant[k] = -1e-7 * std::hypot(b.x - a.x, b.y - a.y) + (b.x - a.x) * a.y -
                          (b.y - a.y) * a.x;
            reciprocal[k] = slope[k] != 0.0 ? 1.0 / slope[k] : 0.0;
        }
        for (std::ptrdiff_t row = row_first; row <= row_last; ++row) {
            double left = 0.0, right = static_cast<double>(width - 1);
            bool empty = false;
            for (int k = 0; k < 3; ++k) {
                const double limit = constant[k] + per_row[k] * row;
                if (slope[k] > 0.0)
                    left = std::max(left, limit * reciprocal[k]);
                else if (slope[k] < 0.0)
                    right = std::min(right, limit * reciprocal[k]);
                else if (limit > 0.0)
                    empty = true;
            }
            // left only grows from 0 and right only shrinks from width - 1,
            // so once ordered both convert safely.
            if (empty || !(std::ceil(left) <= std::floor(right))) continue;
            const std::ptrdiff_t first = static_cast<std::ptrdiff_t>(std::ceil(left));
            const std::ptrdiff_t last = static_cast<std::ptrdiff_t>(std::floor(right));

            // Every path steps from the span's first pixel with the same float
            // arithmetic, so a colour image's channels warp to the same bits
            // as each channel alone.
            const float step_x = static_cast<float>(ax), step_y = static_cast<float>(ay);
            const float span_x = static_cast<float>(bx * row + cx) + step_x * first;
            const float span_y = static_cast<float>(by * row + cy) + step_y * first;
            const int length = static_cast<int>(last - first + 1);
            T* target = output + (row * width + first) * channels;
            // Inside the image with a margin the four taps need no checks.
            const double x_a = ax * first + bx * row + cx, x_b = ax * last + bx * row + cx;
            const double y_a = ay * first + by * row + cy, y_b = ay * last + by * row + cy;
            const bool interior = width >= 2 && height >= 2 && std::min(x_a, x_b) >= 0.0 &&
                                  std::max(x_a, x_b) < width - 1 && std::min(y_a, y_b) >= 0.0 &&
                                  std::max(y_a, y_b) < height - 1;
            if (interior) {
                // The rows the taps can touch, with room for the float rounding of y.
                const auto top =
                    static_cast<std::ptrdiff_t>(std::max(0.0, std::min(y_a, y_b) - 0.01));
                const auto bottom = std::min<std::ptrdiff_t>(
                    height - 1, static_cast<std::ptrdiff_t>(std::max(y_a, y_b) + 0.01) + 1);
                if (zero_rows_before[bottom + 1] - zero_rows_before[top] == bottom - top + 1) {
                    std::fill(target, target + length * channels, T(0));
                    continue;
                }
            }
            if (interior && channels == 1) {
                sample_span(input, target, length, span_x, span_y, step_x, step_y,
                            static_cast<int>(width), static_cast<int>(height));
            } else if (interior) {
                for (int i = 0; i < length; ++i) {
                    const float x = span_x + step_x * i, y = span_y + step_y * i;
                    // Rounding can push a coordinate a hair past the margin:
                    // clamp the tap so the reads stay inside.
                    const std::ptrdiff_t x0 = std::min<std::ptrdiff_t>(
                        std::max<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(x), 0), width - 2);
                    const std::ptrdiff_t y0 = std::min<std::ptrdiff_t>(
                        std::max<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(y), 0), height - 2);
                    const float fx = x - x0, fy = y - y0;
                    const T* p00 = input + (y0 * width + x0) * channels;
                    const T* p10 = p00 + width * channels;
                    for (std::ptrdiff_t c = 0; c < channels; ++c) {
                        const float v00 = p00[c], v01 = p00[c + channels];
                        const float v10 = p10[c], v11 = p10[c + channels];
                        const float top = v00 + fx * (v01 - v00);
                        const float bottom = v10 + fx * (v11 - v10);
                        store(target + c, top + fy * (bottom - top));
                    }
                    target += channels;
                }
            } else {
                for (int i = 0; i < length; ++i) {
                    const float x = span_x + step_x * i, y = span_y + step_y * i;
                    for (std::ptrdiff_t c = 0; c < channels; ++c)
                        store(target + c,
                              sample_checked(input, height, width, channels, c, x, y, fill));
                    target += channels;
                }
            }
        }
    }
}

}  // namespace

template <typename T>
void warp_piecewise_affine(const Batch<const T>& input, const Batch<T>& output,
                           const double* source, const double* destination,
                           std::ptrdiff_t point_sets, int count, float fill) {
    // The vectorised sampler indexes with 32-bit integers.
    if (input.image_size() > 0x7fffffff)
        throw std::invalid_argument("image too large for the warp (over 2^31 values per image)");
    parallel_for(input.count, [&](std::ptrdiff_t n) {
        const std::ptrdiff_t set = point_sets == 1 ? 0 : n;
        const double* src = source + set * count * 2;
        const double* dst = destination + set * count * 2;
        const T* in = input.image(n);
        T* out = output.image(n);
        try {
            const auto triangles = delaunay(dst, count);
            switch (input.channels) {
                case 1:
                    warp_image<T, 1>(in, out, input.height, input.width, 1, src, dst,
                                     triangles, fill);
                    break;
                case 3:
                    warp_image<T, 3>(in, out, input.height, input.width, 3, src, dst,
                                     triangles, fill);
                    break;
                default:
                    warp_image<T, 0>(in, out, input.height, input.width, input.channels, src,
                                     dst, triangles, fill);
            }
        } catch (const std::invalid_argument& error) {
            // Say which of a batch's point sets was degenerate.
            if (point_sets == 1) throw;
            throw std::invalid_argument("point set " + std::to_string(n) + ": " + error.what());
        }
    });
}

template void warp_piecewise_affine<float>(const Batch<const float>&, const Batch<float>&,
                                           const double*, const double*, std::ptrdiff_t, int,
                                           float);
template void warp_piecewise_affine<std::uint8_t>(const Batch<const std::uint8_t>&,
                                                  const Batch<std::uint8_t>&, const double*,
                                                  const double*, std::ptrdiff_t, int, float);

}  // namespace fxr
