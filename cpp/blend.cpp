// Eq. 1 (blend), Eq. 2 (face X-ray), the 3 x 3 softening and their fused
// form. Mask values are clamped to [0, 1] so rounding from earlier blurs
// can never push the X-ray below 0.
#include <cmath>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "colour.hpp"
#include "ops.hpp"

namespace fxr {

namespace {

// The mask of width pixels, clamped to [0, 1], repeated over the channels
// (3, the common count, with constant strides so it vectorises).
FXR_VECTOR_CLONES
void spread_mask(const float* __restrict mask, float* __restrict weights, std::ptrdiff_t width,
                 std::ptrdiff_t channels) {
    if (channels == 3) {
        for (std::ptrdiff_t x = 0; x < width; ++x) {
            const float m = clamp_unit(mask[x]);
            weights[3 * x] = m;
            weights[3 * x + 1] = m;
            weights[3 * x + 2] = m;
        }
        return;
    }
    for (std::ptrdiff_t x = 0; x < width; ++x)
        for (std::ptrdiff_t c = 0; c < channels; ++c)
            weights[x * channels + c] = clamp_unit(mask[x]);
}

// The exponent field of a float: all ones for NaN and infinity only.
constexpr std::uint32_t kExponentBits = 0x7f800000u;

inline std::uint32_t exponent_bits(float value) {
    std::uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits & kExponentBits;
}

// One row of Eq. 1. For several channels the mask is first spread over them
// (weights holds width * channels floats) so the blend itself is a plain
// vectorisable loop over contiguous floats. Returns whether every output is
// finite, found on the way by an integer max of the exponent fields: with
// the mask in [0, 1], a NaN or infinity in either image makes its output
// NaN or infinite (0 * infinity is NaN), so this checks the inputs too.
FXR_VECTOR_CLONES
bool blend_row(const float* __restrict foreground, const float* __restrict background,
               const float* __restrict mask, float* __restrict output, std::ptrdiff_t width,
               std::ptrdiff_t channels, float* __restrict weights) {
    std::uint32_t largest = 0;
    if (channels == 1) {
        for (std::ptrdiff_t x = 0; x < width; ++x) {
            const float m = clamp_unit(mask[x]);
            output[x] = m * foreground[x] + (1.0f - m) * background[x];
            const std::uint32_t exponent = exponent_bits(output[x]);
            largest = exponent > largest ? exponent : largest;
        }
        return largest != kExponentBits;
    }
    spread_mask(mask, weights, width, channels);
    const std::ptrdiff_t length = width * channels;
    for (std::ptrdiff_t i = 0; i < length; ++i) {
        output[i] = weights[i] * foreground[i] + (1.0f - weights[i]) * background[i];
        const std::uint32_t exponent = exponent_bits(output[i]);
        largest = exponent > largest ? exponent : largest;
    }
    return largest != kExponentBits;
}

FXR_VECTOR_CLONES
void xray_row(const float* __restrict mask, float* __restrict xray, std::ptrdiff_t length) {
    for (std::ptrdiff_t i = 0; i < length; ++i) {
        const float m = clamp_unit(mask[i]);
        xray[i] = 4.0f * m * (1.0f - m);
    }
}

// The horizontal [1 2 1] / 4 pass of one mask row with BORDER_REFLECT_101,
// in the same operation order as gaussian_blur so both agree bit for bit.
FXR_VECTOR_CLONES
void soften_row_horizontal(const float* __restrict mask, float* __restrict target,
                           std::ptrdiff_t width) {
    if (width == 1) {
        target[0] = 0.5f * mask[0] + 0.25f * (mask[0] + mask[0]);
        return;
    }
    target[0] = 0.5f * mask[0] + 0.25f * (mask[1] + mask[1]);
    for (std::ptrdiff_t x = 1; x < width - 1; ++x)
        target[x] = 0.5f * mask[x] + 0.25f * (mask[x + 1] + mask[x - 1]);
    target[width - 1] = 0.5f * mask[width - 1] + 0.25f * (mask[width - 2] + mask[width - 2]);
}

// The vertical [1 2 1] / 4 pass of one row, then Eq. 2 on it.
FXR_VECTOR_CLONES
void soften_row_vertical(const float* __restrict above, const float* __restrict centre,
                         const float* __restrict below, float* __restrict softened,
                         float* __restrict xray, std::ptrdiff_t width) {
    for (std::ptrdiff_t x = 0; x < width; ++x) {
        const float m = clamp_unit(0.5f * centre[x] + 0.25f * (below[x] + above[x]));
        softened[x] = m;
        xray[x] = 4.0f * m * (1.0f - m);
    }
}

// After blend_row found a value that is not finite: says which image holds
// NaN or infinity (finite inputs can only have overflowed near the float
// limit, which is let through as before).
void require_finite_rows(const float* foreground, const float* background, std::ptrdiff_t length) {
    if (!all_finite(foreground, length))
        throw std::invalid_argument("foreground contains NaN or infinity");
    if (!all_finite(background, length))
        throw std::invalid_argument("background contains NaN or infinity");
}

// Adds the colour correction's share to length pixels of a blended row:
// image += mask * (foreground * scale_less_one + offset), or, without a
// foreground (the mean alone, scale 1), image += mask * offset.
FXR_VECTOR_CLONES
void correct_row(const float* __restrict foreground, const float* __restrict mask,
                 const float* __restrict scale_less_one, const float* __restrict offset,
                 float* __restrict image, std::ptrdiff_t length, std::ptrdiff_t channels,
                 float* __restrict weights) {
    spread_mask(mask, weights, length, channels);
    const std::ptrdiff_t values = length * channels;
    if (foreground == nullptr) {
        for (std::ptrdiff_t i = 0; i < values; ++i) image[i] += weights[i] * offset[i];
        return;
    }
    for (std::ptrdiff_t i = 0; i < values; ++i)
        image[i] += weights[i] * (foreground[i] * scale_less_one[i] + offset[i]);
}

}  // namespace

void blend(const Batch<const float>& foreground, const Batch<const float>& background,
           const Batch<const float>& mask, const Batch<float>& output) {
    parallel_for(foreground.count, [&](std::ptrdiff_t n) {
        const std::ptrdiff_t width = foreground.width, row = foreground.row_size();
        std::vector<float> weights(static_cast<std::size_t>(row));
        for (std::ptrdiff_t y = 0; y < foreground.height; ++y) {
            const float* front = foreground.image(n) + y * row;
            const float* back = background.image(n) + y * row;
            if (!blend_row(front, back, mask.image(n) + y * width, output.image(n) + y * row,
                           width, foreground.channels, weights.data()))
                require_finite_rows(front, back, row);
        }
    });
}

void face_xray(const Batch<const float>& mask, const Batch<float>& xray) {
    parallel_for(mask.count, [&](std::ptrdiff_t n) {
        xray_row(mask.image(n), xray.image(n), mask.image_size());
    });
}

void blend_with_xray(const Batch<const float>& foreground, const Batch<const float>& background,
                     const Batch<const float>& mask, const Batch<float>& image,
                     const Batch<float>& xray, const Batch<float>& softened, Colour colour) {
    parallel_for(foreground.count, [&](std::ptrdiff_t n) {
        const std::ptrdiff_t height = mask.height, width = mask.width;
        const std::ptrdiff_t row = foreground.row_size(), channels = foreground.channels;
        const float* source = mask.image(n);
        std::vector<float> weights(static_cast<std::size_t>(row));
        std::optional<ColourStatistics> statistics;
        if (colour != Colour::none)
            statistics.emplace(foreground.image(n), background.image(n), source, height, width,
                               channels, colour == Colour::mean_std);
        // Three horizontally filtered rows, reused as the window slides down.
        std::vector<float> rows(static_cast<std::size_t>(3 * width));
        std::ptrdiff_t held[3] = {-1, -1, -1};
        auto filtered = [&](std::ptrdiff_t y) -> const float* {
            const std::ptrdiff_t slot = y % 3;
            float* buffer = rows.data() + slot * width;
            if (held[slot] != y) {
                soften_row_horizontal(source + y * width, buffer, width);
                held[slot] = y;
            }
            return buffer;
        };
        // One pass reads each image row once: the blend of the uncorrected
        // foreground (which also checks both rows for NaN and infinity) and
        // the colour statistics use it while it is in cache.
        for (std::ptrdiff_t y = 0; y < height; ++y) {
            const float* above = filtered(reflect_101(y - 1, height));
            const float* centre = filtered(y);
            const float* below = filtered(reflect_101(y + 1, height));
            const float* front = foreground.image(n) + y * row;
            const float* back = background.image(n) + y * row;
            float* soft = softened.image(n) + y * width;
            soften_row_vertical(above, centre, below, soft, xray.image(n) + y * width, width);
            if (!blend_row(front, back, soft, image.image(n) + y * row, width, channels,
                           weights.data()))
                require_finite_rows(front, back, row);
            if (statistics) statistics->add_row(front, back, source + y * width);
        }
        if (!statistics) return;
        // The correction: s * (f * scale + offset) + (1 - s) * b is the blend
        // above plus s * (f * (scale - 1) + offset), nonzero only where s > 0.
        std::vector<float> scale_row(static_cast<std::size_t>(row));
        std::vector<float> offset_row(static_cast<std::size_t>(row));
        statistics->affine_rows(scale_row.data(), offset_row.data());
        for (float& scale : scale_row) scale -= 1.0f;
        // With the mean alone the scale is 1: the foreground need not be read again.
        const bool scaled = colour == Colour::mean_std;
        for (std::ptrdiff_t y = 0; y < height; ++y) {
            const float* soft = softened.image(n) + y * width;
            const std::ptrdiff_t first = first_positive(soft, width);
            if (first == width) continue;
            const std::ptrdiff_t end = last_positive(soft, width) + 1;
            const std::ptrdiff_t start = first * channels;
            correct_row(scaled ? foreground.image(n) + y * row + start : nullptr, soft + first,
                        scale_row.data(), offset_row.data(), image.image(n) + y * row + start,
                        end - first, channels, weights.data());
        }
    });
}

FXR_VECTOR_CLONES
bool all_finite(const float* data, std::ptrdiff_t size) {
    // The largest exponent field tells, with integer ops only (an exact max,
    // so it vectorises, and cheaper than two float compares a value).
    std::uint32_t largest = 0;
    for (std::ptrdiff_t i = 0; i < size; ++i) {
        const std::uint32_t exponent = exponent_bits(data[i]);
        largest = exponent > largest ? exponent : largest;
    }
    return largest != kExponentBits;
}

FXR_VECTOR_CLONES
bool all_within(const float* data, std::ptrdiff_t size, float low, float high) {
    // Branch-free (bitwise &, |) so it vectorises; NaN fails both comparisons.
    int outside = 0;
    for (std::ptrdiff_t i = 0; i < size; ++i) outside |= !((data[i] >= low) & (data[i] <= high));
    return outside == 0;
}

}  // namespace fxr
