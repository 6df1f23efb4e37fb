// Colour correction of the foreground towards the background, with the
// statistics taken inside mask > 0 (the paper aligns the means; matching the
// standard deviation too is optional).
#include <cmath>

#include "ops.hpp"

namespace fxr {

namespace {

// Sums run in kLanes independent float lanes over a row of interleaved
// channels; kLanes is a multiple of every channel count that divides it, so
// lane j always holds channel j % channels and the loop vectorises.
constexpr std::ptrdiff_t kLanes = 24;

struct Sums {
    double foreground[kLanes] = {};
    double background[kLanes] = {};
    double foreground_squares[kLanes] = {};
    double background_squares[kLanes] = {};
};

// Adds one row's weighted sums of (value - shift) and their squares. Row
// partials stay in float (a row is short); totals go to double. Shifting by
// a value from the image avoids the cancellation of E[x^2] - E[x]^2.
FXR_VECTOR_CLONES
void accumulate_row(const float* __restrict foreground, const float* __restrict background,
                    const float* __restrict weight, const float* __restrict shift_foreground,
                    const float* __restrict shift_background, std::ptrdiff_t length,
                    bool squares, Sums& sums) {
    float f[kLanes] = {}, b[kLanes] = {}, ff[kLanes] = {}, bb[kLanes] = {};
    std::ptrdiff_t start = 0;
    // The mean alone needs no squares: a loop without them, about half the work.
    if (!squares) {
        for (; start + kLanes <= length; start += kLanes) {
            for (std::ptrdiff_t j = 0; j < kLanes; ++j) {
                const float w = weight[start + j];
                f[j] += w * (foreground[start + j] - shift_foreground[j]);
                b[j] += w * (background[start + j] - shift_background[j]);
            }
        }
    }
    for (; start + kLanes <= length; start += kLanes) {
        for (std::ptrdiff_t j = 0; j < kLanes; ++j) {
            const float w = weight[start + j];
            const float df = foreground[start + j] - shift_foreground[j];
            const float db = background[start + j] - shift_background[j];
            f[j] += w * df;
            b[j] += w * db;
            ff[j] += w * df * df;
            bb[j] += w * db * db;
        }
    }
    for (std::ptrdiff_t j = 0; start + j < length; ++j) {
        const float w = weight[start + j];
        const float df = foreground[start + j] - shift_foreground[j];
        const float db = background[start + j] - shift_background[j];
        f[j] += w * df;
        b[j] += w * db;
        ff[j] += w * df * df;
        bb[j] += w * db * db;
    }
    for (std::ptrdiff_t j = 0; j < kLanes; ++j) {
        sums.foreground[j] += f[j];
        sums.background[j] += b[j];
        sums.foreground_squares[j] += ff[j];
        sums.background_squares[j] += bb[j];
    }
}

// 1 inside the mask (mask > 0), 0 outside, spread over the channels; returns
// the count inside. The common channel counts get constant strides so the
// spreading vectorises too.
FXR_VECTOR_CLONES
std::ptrdiff_t inside_weights(const float* __restrict mask, float* __restrict weight,
                              std::ptrdiff_t width, std::ptrdiff_t channels) {
    std::ptrdiff_t inside = 0;
    for (std::ptrdiff_t x = 0; x < width; ++x) inside += mask[x] > 0.0f ? 1 : 0;
    if (channels == 1) {
        for (std::ptrdiff_t x = 0; x < width; ++x) weight[x] = mask[x] > 0.0f ? 1.0f : 0.0f;
    } else if (channels == 3) {
        for (std::ptrdiff_t x = 0; x < width; ++x) {
            const float w = mask[x] > 0.0f ? 1.0f : 0.0f;
            weight[3 * x] = w;
            weight[3 * x + 1] = w;
            weight[3 * x + 2] = w;
        }
    } else {
        for (std::ptrdiff_t x = 0; x < width; ++x)
            for (std::ptrdiff_t c = 0; c < channels; ++c)
                weight[x * channels + c] = mask[x] > 0.0f ? 1.0f : 0.0f;
    }
    return inside;
}

}  // namespace

FXR_VECTOR_CLONES
void colour_row(const float* __restrict foreground, const float* __restrict scale,
                const float* __restrict offset, float* __restrict output, std::ptrdiff_t length) {
    for (std::ptrdiff_t i = 0; i < length; ++i) output[i] = foreground[i] * scale[i] + offset[i];
}

void colour_rows(const float* foreground, const float* background, const float* mask,
                 std::ptrdiff_t height, std::ptrdiff_t width, std::ptrdiff_t channels,
                 bool match_std, float* scale_row, float* offset_row) {
    const std::ptrdiff_t row = width * channels;
    const std::ptrdiff_t period = kLanes % channels == 0 ? kLanes : channels;
    // Periodic rows: row-long so both kernels read them without index math.
    std::vector<float> weight(static_cast<std::size_t>(row));
    std::vector<float> shift_foreground(static_cast<std::size_t>(std::max(row, kLanes)));
    std::vector<float> shift_background(shift_foreground.size());
    // Shift by the first pixel inside the mask: a value from the statistics'
    // own range, whatever lies outside.
    const std::ptrdiff_t first_inside =
        std::min(first_positive(mask, height * width), height * width - 1);
    for (std::size_t i = 0; i < shift_foreground.size(); ++i) {
        shift_foreground[i] = foreground[first_inside * channels + i % channels];
        shift_background[i] = background[first_inside * channels + i % channels];
    }
    Sums sums;
    std::vector<double> sum_f(channels, 0.0), sum_b(channels, 0.0);
    std::vector<double> square_f(channels, 0.0), square_b(channels, 0.0);
    std::ptrdiff_t inside = 0;
    for (std::ptrdiff_t y = 0; y < height; ++y) {
        // Only the stretch of the row between its first and last pixel
        // inside the mask is read; a face mask leaves most of the image out.
        const float* mask_row = mask + y * width;
        const std::ptrdiff_t first = first_positive(mask_row, width);
        if (first == width) continue;
        const std::ptrdiff_t last = last_positive(mask_row, width);
        const std::ptrdiff_t span = last - first + 1;
        inside += inside_weights(mask_row + first, weight.data(), span, channels);
        const std::ptrdiff_t offset = y * row + first * channels;
        if (period == kLanes) {
            // offset is a multiple of channels, so lane j still holds channel j % channels.
            accumulate_row(foreground + offset, background + offset, weight.data(),
                           shift_foreground.data(), shift_background.data(), span * channels,
                           match_std, sums);
            continue;
        }
        // Channel counts that do not divide the lane count: plain loop.
        for (std::ptrdiff_t i = 0; i < span * channels; ++i) {
            const std::ptrdiff_t c = i % channels;
            const double w = weight[i];
            const double df = foreground[offset + i] - shift_foreground[c];
            const double db = background[offset + i] - shift_background[c];
            sum_f[c] += w * df;
            sum_b[c] += w * db;
            square_f[c] += w * df * df;
            square_b[c] += w * db * db;
        }
    }
    if (period == kLanes) {
        for (std::ptrdiff_t j = 0; j < kLanes; ++j) {
            sum_f[j % channels] += sums.foreground[j];
            sum_b[j % channels] += sums.background[j];
            square_f[j % channels] += sums.foreground_squares[j];
            square_b[j % channels] += sums.background_squares[j];
        }
    }

    std::fill(scale_row, scale_row + row, 1.0f);
    std::fill(offset_row, offset_row + row, 0.0f);
    if (inside > 0) {
        for (std::ptrdiff_t c = 0; c < channels; ++c) {
            const double shifted_f = sum_f[c] / inside, shifted_b = sum_b[c] / inside;
            const double mean_f = shift_foreground[c] + shifted_f;
            const double mean_b = shift_background[c] + shifted_b;
            double scale = 1.0;
            if (match_std) {
                const double var_f = std::max(0.0, square_f[c] / inside - shifted_f * shifted_f);
                const double var_b = std::max(0.0, square_b[c] / inside - shifted_b * shifted_b);
                // A flat foreground has no spread to scale; only its mean moves.
                if (var_f > 0.0) scale = std::sqrt(var_b / var_f);
            }
            // (f - mean_f) * scale + mean_b as one multiply-add per value.
            for (std::ptrdiff_t x = 0; x < width; ++x) {
                scale_row[x * channels + c] = static_cast<float>(scale);
                offset_row[x * channels + c] = static_cast<float>(mean_b - mean_f * scale);
            }
        }
    }
}

void colour_transfer(const Batch<const float>& foreground, const Batch<const float>& background,
                     const Batch<const float>& mask, const Batch<float>& output,
                     bool match_std) {
    parallel_for(foreground.count, [&](std::ptrdiff_t n) {
        const std::ptrdiff_t row = foreground.row_size();
        std::vector<float> scale_row(static_cast<std::size_t>(row));
        std::vector<float> offset_row(static_cast<std::size_t>(row));
        colour_rows(foreground.image(n), background.image(n), mask.image(n), foreground.height,
                    foreground.width, foreground.channels, match_std, scale_row.data(),
                    offset_row.data());
        for (std::ptrdiff_t y = 0; y < foreground.height; ++y)
            colour_row(foreground.image(n) + y * row, scale_row.data(), offset_row.data(),
                       output.image(n) + y * row, row);
    });
}

}  // namespace fxr
