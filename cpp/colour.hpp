// The statistics of the colour correction, gathered a row at a time, so a
// caller can fold them into its own pass over the images (blend_with_xray
// does: the images are then read from memory once).
#pragma once

#include <vector>

#include "image.hpp"

namespace fxr {

class ColourStatistics {
public:
    // Lanes of the row sums; a multiple of the usual channel counts 1, 2, 3, 4, 6.
    static constexpr std::ptrdiff_t kLanes = 24;

    struct Sums {
        double foreground[kLanes] = {};
        double background[kLanes] = {};
        double foreground_squares[kLanes] = {};
        double background_squares[kLanes] = {};
    };

    // For one height x width image of interleaved channels and its mask;
    // the squares are summed only with match_std.
    ColourStatistics(const float* foreground, const float* background, const float* mask,
                     std::ptrdiff_t height, std::ptrdiff_t width, std::ptrdiff_t channels,
                     bool match_std);

    // Adds one row: the pixels where mask > 0.
    void add_row(const float* foreground, const float* background, const float* mask);

    // The correction of the rows added so far, as the per-value affine
    // corrected = f * scale + offset in rows of width * channels floats
    // (scale 1 and offset 0 when no pixel was inside the mask).
    void affine_rows(float* scale_row, float* offset_row) const;

private:
    std::ptrdiff_t width_;
    std::ptrdiff_t channels_;
    bool lanes_fit_;  // kLanes % channels == 0: the vectorised sums apply
    bool match_std_;
    std::vector<float> weight_;
    std::vector<float> shift_foreground_;
    std::vector<float> shift_background_;
    Sums sums_;
    std::vector<double> sum_f_, sum_b_, square_f_, square_b_;  // per channel, the plain loop's
    std::ptrdiff_t inside_ = 0;
};

}  // namespace fxr
