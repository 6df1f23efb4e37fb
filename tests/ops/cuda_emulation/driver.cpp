// Runs every CUDA op of cpp/cuda under the CPU stand-in (cuda_runtime.h here) and compares
// it with the CPU op of cpp/*.cpp. Prints "op max_abs_diff" per case; exits 1 when any
// difference exceeds 1e-4 (the tolerance the GPU tests use).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "cuda/kernels.cuh"
#include "ops.hpp"

namespace {

std::mt19937 generator(12345);
int failures = 0;

std::vector<float> random_values(size_t count, float low = 0.0f, float high = 1.0f) {
    std::uniform_real_distribution<float> uniform(low, high);
    std::vector<float> values(count);
    for (auto& value : values) value = uniform(generator);
    return values;
}

void report(const char* name, const std::vector<float>& result, const std::vector<float>& expected) {
    double worst = result.size() == expected.size() ? 0.0 : INFINITY;
    for (size_t i = 0; i < std::min(result.size(), expected.size()); ++i) {
        const double difference = std::abs(double(result[i]) - double(expected[i]));
        worst = std::isfinite(result[i]) ? std::max(worst, difference) : INFINITY;
    }
    std::printf("%s %.3g\n", name, worst);
    if (!(worst <= 1e-4)) ++failures;
}

fxr::Batch<const float> view(const std::vector<float>& data, fxr::cuda::Shape s, int64_t channels) {
    return {data.data(), s.batch, s.height, s.width, channels};
}
fxr::Batch<float> view(std::vector<float>& data, fxr::cuda::Shape s, int64_t channels) {
    return {data.data(), s.batch, s.height, s.width, channels};
}

// A 4×4 grid over the image, each point moved by up to `spread` of a cell.
std::vector<double> deformed_grid(int height, int width, double spread) {
    std::uniform_real_distribution<double> move(-spread, spread);
    std::vector<double> points;
    for (int row = 0; row < 4; ++row)
        for (int column = 0; column < 4; ++column) {
            points.push_back(column * (width - 1) / 3.0 + move(generator) * (width - 1) / 3.0);
            points.push_back(row * (height - 1) / 3.0 + move(generator) * (height - 1) / 3.0);
        }
    return points;
}

void check_warp(bool per_sample) {
    const fxr::cuda::Shape shape{3, 37, 53, 3};
    const auto image = random_values(shape.batch * shape.height * shape.width * shape.channels);
    const int sets = per_sample ? 3 : 1;
    std::vector<double> source, destination;
    for (int set = 0; set < sets; ++set) {
        const auto s = deformed_grid(37, 53, 0.3), d = deformed_grid(37, 53, set == 0 ? 0.0 : 0.3);
        source.insert(source.end(), s.begin(), s.end());
        destination.insert(destination.end(), d.begin(), d.end());
    }
    // Round to float first: the CUDA op takes float32 points, the CPU op doubles.
    for (auto* points : {&source, &destination})
        for (auto& value : *points) value = static_cast<float>(value);
    std::vector<std::vector<std::array<int, 3>>> triangulations;
    size_t most = 0;
    for (int set = 0; set < sets; ++set) {
        triangulations.push_back(fxr::delaunay(destination.data() + set * 32, 16));
        most = std::max(most, triangulations.back().size());
    }
    std::vector<int32_t> triangles(sets * most * 3, -1);
    for (int set = 0; set < sets; ++set)
        for (size_t t = 0; t < triangulations[set].size(); ++t)
            for (int k = 0; k < 3; ++k) triangles[(set * most + t) * 3 + k] = triangulations[set][t][k];
    std::vector<float> source_f(source.begin(), source.end()), destination_f(destination.begin(), destination.end());
    std::vector<float> result(image.size()), expected(image.size());
    fxr::cuda::warp_piecewise_affine(image.data(), result.data(), shape, source_f.data(),
                                     destination_f.data(), 16, per_sample, triangles.data(),
                                     static_cast<int64_t>(most), per_sample, 0.25f, nullptr);
    fxr::warp_piecewise_affine<float>(view(image, shape, 3), view(expected, shape, 3), source.data(),
                                      destination.data(), sets, 16, 0.25f);
    report(per_sample ? "warp_per_sample" : "warp_shared_points", result, expected);
}

void check_blur(int size_x, int size_y, double sigma, const char* name) {
    const fxr::cuda::Shape shape{2, 29, 41, 3};
    const auto image = random_values(shape.batch * shape.height * shape.width * shape.channels);
    const auto weights_x = fxr::gaussian_kernel(size_x, sigma), weights_y = fxr::gaussian_kernel(size_y, sigma);
    std::vector<float> result(image.size()), expected(image.size());
    fxr::cuda::gaussian_blur(image.data(), result.data(), shape, weights_x.data(), size_x,
                             weights_y.data(), size_y, nullptr);
    fxr::gaussian_blur<float>(view(image, shape, 3), view(expected, shape, 3), size_x, size_y, sigma, sigma);
    report(name, result, expected);
}

void check_blur_per_sample() {
    const fxr::cuda::Shape shape{3, 33, 40, 1};
    const int sizes[3] = {1, 5, 11};
    const int width = 11;
    const auto image = random_values(shape.batch * shape.height * shape.width);
    std::vector<float> table(3 * width, 0.0f);
    for (int n = 0; n < 3; ++n) {
        const auto kernel = fxr::gaussian_kernel(sizes[n], 0.0);
        std::copy(kernel.begin(), kernel.end(), table.begin() + n * width + (width - sizes[n]) / 2);
    }
    std::vector<float> result(image.size()), expected(image.size());
    fxr::cuda::gaussian_blur_per_sample(image.data(), result.data(), shape, table.data(), width,
                                        table.data(), width, nullptr);
    const int64_t plane = shape.height * shape.width;
    for (int n = 0; n < 3; ++n) {
        fxr::Batch<const float> in{image.data() + n * plane, 1, shape.height, shape.width, 1};
        fxr::Batch<float> out{expected.data() + n * plane, 1, shape.height, shape.width, 1};
        fxr::gaussian_blur<float>(in, out, sizes[n], sizes[n], 0.0, 0.0);
    }
    report("blur_per_sample", result, expected);
}

void check_colour(int64_t channels, bool match_std, bool per_sample) {
    const fxr::cuda::Shape shape{3, 31, 45, channels};
    const auto foreground = random_values(3 * 31 * 45 * channels);
    const auto background = random_values(3 * 31 * 45 * channels, 0.2f, 0.7f);
    auto mask = random_values(3 * 31 * 45);
    for (size_t i = 0; i < mask.size(); ++i) mask[i] = (i < 31 * 45) ? 0.0f : float(mask[i] > 0.6f);
    const std::vector<int32_t> flags = {1, 0, 1};
    std::vector<float> result(foreground.size()), expected(foreground.size());
    fxr::cuda::colour_transfer(foreground.data(), background.data(), mask.data(), result.data(), shape,
                               match_std, per_sample ? flags.data() : nullptr, nullptr);
    const int64_t image_size = 31 * 45 * channels;
    for (int n = 0; n < 3; ++n) {
        const bool std_here = per_sample ? flags[n] != 0 : match_std;
        fxr::Batch<const float> f{foreground.data() + n * image_size, 1, 31, 45, channels};
        fxr::Batch<const float> b{background.data() + n * image_size, 1, 31, 45, channels};
        fxr::Batch<const float> m{mask.data() + n * 31 * 45, 1, 31, 45, 1};
        fxr::Batch<float> out{expected.data() + n * image_size, 1, 31, 45, channels};
        fxr::colour_transfer(f, b, m, out, std_here);
    }
    char name[64];
    std::snprintf(name, sizeof name, "colour_c%lld_std%d_per_sample%d", static_cast<long long>(channels),
                  int(match_std), int(per_sample));
    report(name, result, expected);
}

void check_blend() {
    const fxr::cuda::Shape shape{2, 19, 23, 3};
    const auto foreground = random_values(2 * 19 * 23 * 3), background = random_values(2 * 19 * 23 * 3);
    const auto mask = random_values(2 * 19 * 23, -0.1f, 1.1f);
    std::vector<float> result(foreground.size()), expected(foreground.size());
    fxr::cuda::blend(foreground.data(), background.data(), mask.data(), result.data(), shape, nullptr);
    fxr::blend(view(foreground, shape, 3), view(background, shape, 3), view(mask, shape, 1),
               view(expected, shape, 3));
    report("blend", result, expected);
    std::vector<float> xray(mask.size()), expected_xray(mask.size());
    fxr::cuda::face_xray(mask.data(), xray.data(), static_cast<int64_t>(mask.size()), nullptr);
    fxr::face_xray(view(mask, shape, 1), view(expected_xray, shape, 1));
    report("face_xray", xray, expected_xray);
    std::vector<float> image(foreground.size()), softened(mask.size());
    std::vector<float> expected_image(foreground.size()), expected_softened(mask.size());
    fxr::cuda::blend_with_xray(foreground.data(), background.data(), mask.data(), image.data(),
                               xray.data(), softened.data(), shape, nullptr);
    fxr::blend_with_xray(view(foreground, shape, 3), view(background, shape, 3), view(mask, shape, 1),
                         view(expected_image, shape, 3), view(expected_xray, shape, 1),
                         view(expected_softened, shape, 1));
    report("blend_with_xray_image", image, expected_image);
    report("blend_with_xray_xray", xray, expected_xray);
    report("blend_with_xray_softened", softened, expected_softened);
}

}  // namespace

int main() {
    fxr::set_thread_count(1);
    check_warp(true);
    check_warp(false);
    check_blur(3, 3, 0.0, "blur_3");
    check_blur(7, 5, 0.0, "blur_7x5");
    check_blur(31, 31, 4.0, "blur_31_sigma4");
    check_blur(65, 1, 0.0, "blur_65x1");
    check_blur(67, 9, 0.0, "blur_large_67x9");
    check_blur_per_sample();
    check_colour(3, false, false);
    check_colour(3, true, false);
    check_colour(6, true, false);
    check_colour(3, false, true);
    check_blend();
    return failures == 0 ? 0 : 1;
}
