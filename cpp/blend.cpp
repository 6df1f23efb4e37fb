// Eq. 1 (blend), Eq. 2 (face X-ray), the 3 x 3 softening and their fused
// form. Mask values are clamped to [0, 1] so rounding from earlier blurs
// can never push the X-ray below 0.
#include <cmath>
#include <cstring>

#include "ops.hpp"

namespace fxr {

namespace {

// One row of Eq. 1. For several channels the mask is first spread over them
// (weights holds width * channels floats) so the blend itself is a plain
// vectorisable loop over contiguous floats.
FXR_VECTOR_CLONES
void blend_row(const float* __restrict foreground, const float* __restrict background,
               const float* __restrict mask, float* __restrict output, std::ptrdiff_t width,
               std::ptrdiff_t channels, float* __restrict weights) {
    if (channels == 1) {
        for (std::ptrdiff_t x = 0; x < width; ++x) {
            const float m = clamp_unit(mask[x]);
            output[x] = m * foreground[x] + (1.0f - m) * background[x];
        }
        return;
    }
    if (channels == 3) {
        for (std::ptrdiff_t x = 0; x < width; ++x) {
            const float m = clamp_unit(mask[x]);
            weights[3 * x] = m;
            weights[3 * x + 1] = m;
            weights[3 * x + 2] = m;
        }
    } else {
        for (std::ptrdiff_t x = 0; x < width; ++x)
            for (std::ptrdiff_t c = 0; c < channels; ++c)
                weights[x * channels + c] = clamp_unit(mask[x]);
    }
    const std::ptrdiff_t length = width * channels;
    for (std::ptrdiff_t i = 0; i < length; ++i)
        output[i] = weights[i] * foreground[i] + (1.0f - weights[i]) * background[i];
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

}  // namespace

void blend(const Batch<const float>& foreground, const Batch<const float>& background,
           const Batch<const float>& mask, const Batch<float>& output) {
    parallel_for(foreground.count, [&](std::ptrdiff_t n) {
        const std::ptrdiff_t width = foreground.width, row = foreground.row_size();
        std::vector<float> weights(static_cast<std::size_t>(row));
        for (std::ptrdiff_t y = 0; y < foreground.height; ++y)
            blend_row(foreground.image(n) + y * row, background.image(n) + y * row,
                      mask.image(n) + y * width, output.image(n) + y * row, width,
                      foreground.channels, weights.data());
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
        // With colour correction: its affine rows, and one corrected foreground
        // row (zeroed once) that stays in cache between its writing and the blend.
        std::vector<float> scale_row, offset_row, corrected;
        if (colour != Colour::none) {
            scale_row.resize(static_cast<std::size_t>(row));
            offset_row.resize(static_cast<std::size_t>(row));
            corrected.resize(static_cast<std::size_t>(row));
            colour_rows(foreground.image(n), background.image(n), source, height, width,
                        foreground.channels, colour == Colour::mean_std, scale_row.data(),
                        offset_row.data());
        }
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
        for (std::ptrdiff_t y = 0; y < height; ++y) {
            const float* above = filtered(reflect_101(y - 1, height));
            const float* centre = filtered(y);
            const float* below = filtered(reflect_101(y + 1, height));
            const float* front = foreground.image(n) + y * row;
            const float* back = background.image(n) + y * row;
            float* soft = softened.image(n) + y * width;
            soften_row_vertical(above, centre, below, soft, xray.image(n) + y * width, width);
            if (colour != Colour::none) {
                // Only the stretch where the softened mask is > 0 is corrected:
                // elsewhere Eq. 1 weighs the foreground by 0, and the row holds
                // zeros or corrected values of earlier rows, so the blend gives
                // the background there, as without the fusion.
                const std::ptrdiff_t first = first_positive(soft, width);
                if (first < width) {
                    const std::ptrdiff_t start = first * channels;
                    const std::ptrdiff_t end = (last_positive(soft, width) + 1) * channels;
                    const std::ptrdiff_t length = end - start;
                    colour_row(front + start, scale_row.data(), offset_row.data(),
                               corrected.data() + start, length);
                }
                front = corrected.data();
            }
            blend_row(front, back, soft, image.image(n) + y * row,
                      width, channels, weights.data());
        }
    });
}

FXR_VECTOR_CLONES
bool all_finite(const float* data, std::ptrdiff_t size) {
    // NaN and infinity are the floats whose exponent bits are all ones: the
    // largest exponent field tells, with integer ops only (an exact max, so
    // it vectorises, and cheaper than two float compares a value).
    constexpr std::uint32_t kExponent = 0x7f800000u;
    std::uint32_t largest = 0;
    for (std::ptrdiff_t i = 0; i < size; ++i) {
        std::uint32_t bits;
        std::memcpy(&bits, data + i, sizeof bits);
        bits &= kExponent;
        largest = bits > largest ? bits : largest;
    }
    return largest != kExponent;
}

FXR_VECTOR_CLONES
bool all_within(const float* data, std::ptrdiff_t size, float low, float high) {
    // Branch-free (bitwise &, |) so it vectorises; NaN fails both comparisons.
    int outside = 0;
    for (std::ptrdiff_t i = 0; i < size; ++i) outside |= !((data[i] >= low) & (data[i] <= high));
    return outside == 0;
}

}  // namespace fxr
