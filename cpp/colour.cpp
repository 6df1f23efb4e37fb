// Colour correction of the foreground towards the background, with the
// statistics taken inside mask > 0 (the paper aligns the means; matching the
// standard deviation too is optional).
#include <cmath>

#include "ops.hpp"

namespace fxr {

namespace {

void transfer_image(const float* foreground, const float* background, const float* mask,
                    float* output, std::ptrdiff_t pixels, std::ptrdiff_t channels,
                    bool match_std, std::vector<float>& scale_row, std::vector<float>& offset_row,
                    std::ptrdiff_t width) {
    // Sums per channel: row partials in float (vectorisable, short), totals in double.
    std::vector<double> sum_f(channels, 0.0), sum_b(channels, 0.0);
    std::vector<double> square_f(channels, 0.0), square_b(channels, 0.0);
    std::vector<float> part_f(channels), part_b(channels), part_ff(channels), part_bb(channels);
    std::ptrdiff_t inside = 0;
    for (std::ptrdiff_t start = 0; start < pixels; start += width) {
        const std::ptrdiff_t stop = std::min(pixels, start + width);
        std::fill(part_f.begin(), part_f.end(), 0.0f);
        std::fill(part_b.begin(), part_b.end(), 0.0f);
        std::fill(part_ff.begin(), part_ff.end(), 0.0f);
        std::fill(part_bb.begin(), part_bb.end(), 0.0f);
        for (std::ptrdiff_t p = start; p < stop; ++p) {
            if (!(mask[p] > 0.0f)) continue;
            ++inside;
            const float* f = foreground + p * channels;
            const float* b = background + p * channels;
            for (std::ptrdiff_t c = 0; c < channels; ++c) {
                part_f[c] += f[c];
                part_b[c] += b[c];
                part_ff[c] += f[c] * f[c];
                part_bb[c] += b[c] * b[c];
            }
        }
        for (std::ptrdiff_t c = 0; c < channels; ++c) {
            sum_f[c] += part_f[c];
            sum_b[c] += part_b[c];
            square_f[c] += part_ff[c];
            square_b[c] += part_bb[c];
        }
    }
    const std::ptrdiff_t row = width * channels;
    scale_row.assign(static_cast<std::size_t>(row), 1.0f);
    offset_row.assign(static_cast<std::size_t>(row), 0.0f);
    if (inside > 0) {
        for (std::ptrdiff_t c = 0; c < channels; ++c) {
            const double mean_f = sum_f[c] / inside, mean_b = sum_b[c] / inside;
            double scale = 1.0;
            if (match_std) {
                const double var_f = std::max(0.0, square_f[c] / inside - mean_f * mean_f);
                const double var_b = std::max(0.0, square_b[c] / inside - mean_b * mean_b);
                // A flat foreground has no spread to scale; only its mean moves.
                if (var_f > 0.0) scale = std::sqrt(var_b / var_f);
            }
            // output = (f - mean_f) * scale + mean_b, as one multiply-add per value.
            for (std::ptrdiff_t x = 0; x < width; ++x) {
                scale_row[x * channels + c] = static_cast<float>(scale);
                offset_row[x * channels + c] = static_cast<float>(mean_b - mean_f * scale);
            }
        }
    }
    const float* __restrict scale = scale_row.data();
    const float* __restrict offset = offset_row.data();
    for (std::ptrdiff_t start = 0; start < pixels * channels; start += row) {
        const float* __restrict f = foreground + start;
        float* __restrict out = output + start;
        const std::ptrdiff_t length = std::min(row, pixels * channels - start);
        for (std::ptrdiff_t i = 0; i < length; ++i) out[i] = f[i] * scale[i] + offset[i];
    }
}

}  // namespace

void colour_transfer(const Batch<const float>& foreground, const Batch<const float>& background,
                     const Batch<const float>& mask, const Batch<float>& output,
                     bool match_std) {
    parallel_for(foreground.count, [&](std::ptrdiff_t n) {
        std::vector<float> scale_row, offset_row;
        transfer_image(foreground.image(n), background.image(n), mask.image(n), output.image(n),
                       foreground.height * foreground.width, foreground.channels, match_std,
                       scale_row, offset_row, foreground.width);
    });
}

}  // namespace fxr
