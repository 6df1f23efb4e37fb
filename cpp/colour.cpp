// Colour correction of the foreground towards the background, with the
// statistics taken inside mask > 0 (the paper aligns the means; matching the
// standard deviation too is optional).
#include <cmath>

#include "colour.hpp"
#include "ops.hpp"

namespace fxr {

namespace {

// Sums run in kLanes independent float lanes over a row of interleaved
// channels (ColourStatistics::kLanes, a multiple of every channel count that
// divides it), so lane j always holds channel j % channels and the loop
// vectorises.
constexpr std::ptrdiff_t kLanes = ColourStatistics::kLanes;
using Sums = ColourStatistics::Sums;

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

// output = foreground * scale + offset over length floats of a row.
FXR_VECTOR_CLONES
void colour_row(const float* __restrict foreground, const float* __restrict scale,
                const float* __restrict offset, float* __restrict output, std::ptrdiff_t length) {
    for (std::ptrdiff_t i = 0; i < length; ++i) output[i] = foreground[i] * scale[i] + offset[i];
}

}  // namespace

ColourStatistics::ColourStatistics(const float* foreground, const float* background,
                                   const float* mask, std::ptrdiff_t height, std::ptrdiff_t width,
                                   std::ptrdiff_t channels, bool match_std)
    : width_(width),
      channels_(channels),
      lanes_fit_(kLanes % channels == 0),
      match_std_(match_std),
      weight_(static_cast<std::size_t>(width * channels)),
      shift_foreground_(static_cast<std::size_t>(std::max(width * channels, kLanes))),
      shift_background_(shift_foreground_.size()),
      sum_f_(channels, 0.0),
      sum_b_(channels, 0.0),
      square_f_(channels, 0.0),
      square_b_(channels, 0.0) {
    // Shift by the first pixel inside the mask: a value from the statistics'
    // own range, whatever lies outside. The shift rows are periodic and
    // row-long so both kernels read them without index math.
    const std::ptrdiff_t first_inside =
        std::min(first_positive(mask, height * width), height * width - 1);
    for (std::size_t i = 0; i < shift_foreground_.size(); ++i) {
        shift_foreground_[i] = foreground[first_inside * channels + i % channels];
        shift_background_[i] = background[first_inside * channels + i % channels];
    }
}

void ColourStatistics::add_row(const float* foreground, const float* background,
                               const float* mask) {
    // Only the stretch of the row between its first and last pixel inside
    // the mask is read; a face mask leaves most of the image out.
    const std::ptrdiff_t first = first_positive(mask, width_);
    if (first == width_) return;
    const std::ptrdiff_t span = last_positive(mask, width_) - first + 1;
    const std::ptrdiff_t channels = channels_;
    inside_ += inside_weights(mask + first, weight_.data(), span, channels);
    const float* front = foreground + first * channels;
    const float* back = background + first * channels;
    if (lanes_fit_) {
        // The span starts at a multiple of channels, so lane j still holds channel j % channels.
        accumulate_row(front, back, weight_.data(), shift_foreground_.data(),
                       shift_background_.data(), span * channels, match_std_, sums_);
        return;
    }
    // Channel counts that do not divide the lane count: plain loop.
    for (std::ptrdiff_t i = 0; i < span * channels; ++i) {
        const std::ptrdiff_t c = i % channels;
        const double w = weight_[i];
        const double df = front[i] - shift_foreground_[c];
        const double db = back[i] - shift_background_[c];
        sum_f_[c] += w * df;
        sum_b_[c] += w * db;
        square_f_[c] += w * df * df;
        square_b_[c] += w * db * db;
    }
}

void ColourStatistics::affine_rows(float* scale_row, float* offset_row) const {
    const std::ptrdiff_t channels = channels_, row = width_ * channels;
    std::vector<double> sum_f = sum_f_, sum_b = sum_b_, square_f = square_f_, square_b = square_b_;
    if (lanes_fit_) {
        for (std::ptrdiff_t j = 0; j < kLanes; ++j) {
            sum_f[j % channels] += sums_.foreground[j];
            sum_b[j % channels] += sums_.background[j];
            square_f[j % channels] += sums_.foreground_squares[j];
            square_b[j % channels] += sums_.background_squares[j];
        }
    }
    std::fill(scale_row, scale_row + row, 1.0f);
    std::fill(offset_row, offset_row + row, 0.0f);
    if (inside_ == 0) return;
    for (std::ptrdiff_t c = 0; c < channels; ++c) {
        const double shifted_f = sum_f[c] / inside_, shifted_b = sum_b[c] / inside_;
        const double mean_f = shift_foreground_[c] + shifted_f;
        const double mean_b = shift_background_[c] + shifted_b;
        double scale = 1.0;
        if (match_std_) {
            const double var_f = std::max(0.0, square_f[c] / inside_ - shifted_f * shifted_f);
            const double var_b = std::max(0.0, square_b[c] / inside_ - shifted_b * shifted_b);
            // A flat foreground has no spread to scale; only its mean moves.
            if (var_f > 0.0) scale = std::sqrt(var_b / var_f);
        }
        // (f - mean_f) * scale + mean_b as one multiply-add per value.
        for (std::ptrdiff_t x = 0; x < width_; ++x) {
            scale_row[x * channels + c] = static_cast<float>(scale);
            offset_row[x * channels + c] = static_cast<float>(mean_b - mean_f * scale);
        }
    }
}

void colour_transfer(const Batch<const float>& foreground, const Batch<const float>& background,
                     const Batch<const float>& mask, const Batch<float>& output,
                     bool match_std) {
    parallel_for(foreground.count, [&](std::ptrdiff_t n) {
        const std::ptrdiff_t height = foreground.height, width = foreground.width;
        const std::ptrdiff_t row = foreground.row_size();
        ColourStatistics statistics(foreground.image(n), background.image(n), mask.image(n),
                                    height, width, foreground.channels, match_std);
        for (std::ptrdiff_t y = 0; y < height; ++y)
            statistics.add_row(foreground.image(n) + y * row, background.image(n) + y * row,
                               mask.image(n) + y * width);
        std::vector<float> scale_row(static_cast<std::size_t>(row));
        std::vector<float> offset_row(static_cast<std::size_t>(row));
        statistics.affine_rows(scale_row.data(), offset_row.data());
        for (std::ptrdiff_t y = 0; y < height; ++y)
            colour_row(foreground.image(n) + y * row, scale_row.data(), offset_row.data(),
                       output.image(n) + y * row, row);
    });
}

}  // namespace fxr
