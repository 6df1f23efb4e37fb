// Separable Gaussian blur with OpenCV's BORDER_REFLECT_101.
//
// Kernels up to kTileMaxSize taps run fused: a block stages its output tile
// plus the halo in shared memory, filters the rows into a second shared
// buffer, then the columns into the output, so each input value is read from
// device memory about once. Larger kernels (rare; the sampler draws at most a
// few dozen taps) take two plain passes through a temporary buffer.
#include <algorithm>
#include <string>
#include <vector>

#include "common.cuh"

namespace fxr::cuda {
namespace {

constexpr int kTileWidth = 32;
constexpr int kTileHeight = 32;
constexpr int kTileMaxSize = kMaxSampleKernel;  // radius 32: ~61 KB of shared memory at most

struct TileWeights {
    float x[kTileMaxSize];
    float y[kTileMaxSize];
    int radius_x;
    int radius_y;
};

// Grid: x = tile column + tiles_x·channel, y = tile row, z = sample. The
// weights come from `weights` (one kernel for the batch) or, when
// `sample_weights_x` is set, from row `sample` of two device tables of
// width 2·radius + 1 (a kernel per sample, zero-padded to a common size).
__global__ void blur_tile_kernel(const float* __restrict__ input, float* __restrict__ output,
                                 Shape shape, int tiles_x, TileWeights weights,
                                 const float* __restrict__ sample_weights_x,
                                 const float* __restrict__ sample_weights_y, int64_t first_sample) {
    extern __shared__ float shared[];
    __shared__ float taps_x[kTileMaxSize];
    __shared__ float taps_y[kTileMaxSize];
    const int width = static_cast<int>(shape.width);
    const int height = static_cast<int>(shape.height);
    const int channels = static_cast<int>(shape.channels);
    const int channel = blockIdx.x / tiles_x;
    const int x0 = (blockIdx.x % tiles_x) * kTileWidth;
    const int y0 = blockIdx.y * kTileHeight;
    // `input` / `output` start at this launch's first sample; the weight tables do not.
    const int64_t sample = blockIdx.z;
    const int64_t table_row = first_sample + sample;
    const int rx = weights.radius_x;
    const int ry = weights.radius_y;
    const int rows = kTileHeight + 2 * ry;
    const int columns = kTileWidth + 2 * rx;
    float* staged = shared;                   // rows × columns
    float* filtered = shared + rows * columns;  // rows × kTileWidth

    const int thread = threadIdx.y * blockDim.x + threadIdx.x;
    const int threads = blockDim.x * blockDim.y;
    for (int tap = thread; tap <= 2 * rx; tap += threads) {
        taps_x[tap] = sample_weights_x ? sample_weights_x[table_row * (2 * rx + 1) + tap] : weights.x[tap];
    }
    for (int tap = thread; tap <= 2 * ry; tap += threads) {
        taps_y[tap] = sample_weights_y ? sample_weights_y[table_row * (2 * ry + 1) + tap] : weights.y[tap];
    }
    const float* plane = input + sample * height * static_cast<int64_t>(width) * channels;
    for (int index = thread; index < rows * columns; index += threads) {
        const int row = index / columns;
        const int column = index - row * columns;
        const int y = reflect_101(y0 - ry + row, height);
        const int x = reflect_101(x0 - rx + column, width);
        staged[index] = plane[(static_cast<int64_t>(y) * width + x) * channels + channel];
    }
    __syncthreads();
    for (int index = thread; index < rows * kTileWidth; index += threads) {
        const int row = index / kTileWidth;
        const int column = index - row * kTileWidth;
        // Symmetric pairs around the centre, in the CPU op's order.
        const float* centre = staged + row * columns + column + rx;
        float sum = taps_x[rx] * centre[0];
        for (int tap = 1; tap <= rx; ++tap) sum += taps_x[rx + tap] * (centre[tap] + centre[-tap]);
        filtered[index] = sum;
    }
    __syncthreads();
    float* out_plane = output + sample * height * static_cast<int64_t>(width) * channels;
    for (int index = thread; index < kTileHeight * kTileWidth; index += threads) {
        const int row = index / kTileWidth;
        const int column = index - row * kTileWidth;
        const int y = y0 + row;
        const int x = x0 + column;
        if (y >= height || x >= width) continue;
        const float* centre = filtered + (row + ry) * kTileWidth + column;
        float sum = taps_y[ry] * centre[0];
        for (int tap = 1; tap <= ry; ++tap) {
            sum += taps_y[ry + tap] * (centre[tap * kTileWidth] + centre[-tap * kTileWidth]);
        }
        out_plane[(static_cast<int64_t>(y) * width + x) * channels + channel] = sum;
    }
}

// One pass along x (step = channels) or y (step = width·channels) for the
// large-kernel path. One thread per output value.
__global__ void blur_pass_kernel(const float* __restrict__ input, float* __restrict__ output,
                                 Shape shape, const float* __restrict__ weights, int radius,
                                 bool along_x) {
    const int64_t total = shape.batch * shape.height * shape.width * shape.channels;
    const int64_t index = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
    if (index >= total) return;
    const int64_t channels = shape.channels;
    const int64_t x = (index / channels) % shape.width;
    const int64_t y = (index / (channels * shape.width)) % shape.height;
    const int64_t position = along_x ? x : y;
    const int length = static_cast<int>(along_x ? shape.width : shape.height);
    const int64_t step = along_x ? channels : channels * shape.width;
    const float* origin = input + index - position * step;
    const int centre = static_cast<int>(position);
    float sum = weights[radius] * origin[centre * step];
    for (int tap = 1; tap <= radius; ++tap) {
        const int after = reflect_101(centre + tap, length);
        const int before = reflect_101(centre - tap, length);
        sum += weights[radius + tap] * (origin[after * step] + origin[before * step]);
    }
    output[index] = sum;
}

void blur_large(const float* image, float* output, Shape shape, const float* kernel_x,
                int64_t size_x, const float* kernel_y, int64_t size_y, cudaStream_t stream) {
    const int64_t total = shape.batch * shape.height * shape.width * shape.channels;
    std::vector<float> host(kernel_x, kernel_x + size_x);
    host.insert(host.end(), kernel_y, kernel_y + size_y);
    float* weights = nullptr;
    float* temporary = nullptr;
    check(cudaMallocAsync(reinterpret_cast<void**>(&weights), host.size() * sizeof(float), stream),
          "cudaMallocAsync(blur weights)");
    check(cudaMallocAsync(reinterpret_cast<void**>(&temporary), total * sizeof(float), stream),
          "cudaMallocAsync(blur temporary)");
    // A pageable source makes this copy return only once the host data is staged.
    check(cudaMemcpyAsync(weights, host.data(), host.size() * sizeof(float),
                          cudaMemcpyHostToDevice, stream),
          "cudaMemcpyAsync(blur weights)");
    constexpr unsigned threads = 256;
    blur_pass_kernel<<<blocks_for(total, threads), threads, 0, stream>>>(
        image, temporary, shape, weights, static_cast<int>(size_x / 2), true);
    check_launch("blur_pass_kernel(x)");
    blur_pass_kernel<<<blocks_for(total, threads), threads, 0, stream>>>(
        temporary, output, shape, weights + size_x, static_cast<int>(size_y / 2), false);
    check_launch("blur_pass_kernel(y)");
    check(cudaFreeAsync(temporary, stream), "cudaFreeAsync(blur temporary)");
    check(cudaFreeAsync(weights, stream), "cudaFreeAsync(blur weights)");
}

}  // namespace

namespace {

// Launches the tiled kernel; `weights` holds the radii (and the taps when the
// per-sample tables are null).
void launch_tiles(const float* image, float* output, Shape shape, const TileWeights& weights,
                  const float* sample_weights_x, const float* sample_weights_y,
                  cudaStream_t stream) {
    const int rows = kTileHeight + 2 * weights.radius_y;
    const int columns = kTileWidth + 2 * weights.radius_x;
    const size_t shared_bytes = sizeof(float) * (rows * columns + rows * kTileWidth);
    if (shared_bytes > 48 * 1024) {
        check(cudaFuncSetAttribute(blur_tile_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                   static_cast<int>(shared_bytes)),
              "cudaFuncSetAttribute(blur_tile_kernel)");
    }
    const int tiles_x = static_cast<int>((shape.width + kTileWidth - 1) / kTileWidth);
    const int64_t plane = shape.height * shape.width * shape.channels;
    for_batch_chunks(shape.batch, [&](int64_t first, int64_t count) {
        const dim3 blocks(static_cast<unsigned>(tiles_x * shape.channels),
                          blocks_for(shape.height, kTileHeight), static_cast<unsigned>(count));
        blur_tile_kernel<<<blocks, dim3(32, 8), shared_bytes, stream>>>(
            image + first * plane, output + first * plane, shape, tiles_x, weights,
            sample_weights_x, sample_weights_y, first);
        check_launch("blur_tile_kernel");
    });
}

}  // namespace

void gaussian_blur(const float* image, float* output, Shape shape, const float* kernel_x,
                   int64_t size_x, const float* kernel_y, int64_t size_y, cudaStream_t stream) {
    if (size_x % 2 == 0 || size_y % 2 == 0 || size_x < 1 || size_y < 1) {
        throw std::invalid_argument("gaussian_blur: kernel sizes must be odd and positive");
    }
    if (shape.batch * shape.height * shape.width * shape.channels == 0) return;
    if (size_x > kTileMaxSize || size_y > kTileMaxSize) {
        blur_large(image, output, shape, kernel_x, size_x, kernel_y, size_y, stream);
        return;
    }
    TileWeights weights{};
    std::copy(kernel_x, kernel_x + size_x, weights.x);
    std::copy(kernel_y, kernel_y + size_y, weights.y);
    weights.radius_x = static_cast<int>(size_x / 2);
    weights.radius_y = static_cast<int>(size_y / 2);
    launch_tiles(image, output, shape, weights, nullptr, nullptr, stream);
}

void gaussian_blur_per_sample(const float* image, float* output, Shape shape,
                              const float* weights_x, int64_t size_x, const float* weights_y,
                              int64_t size_y, cudaStream_t stream) {
    if (size_x % 2 == 0 || size_y % 2 == 0 || size_x < 1 || size_y < 1 ||
        size_x > kMaxSampleKernel || size_y > kMaxSampleKernel) {
        throw std::invalid_argument("gaussian_blur_per_sample: kernel widths must be odd, 1 to " +
                                    std::to_string(kMaxSampleKernel));
    }
    if (shape.batch * shape.height * shape.width * shape.channels == 0) return;
    TileWeights radii{};
    radii.radius_x = static_cast<int>(size_x / 2);
    radii.radius_y = static_cast<int>(size_y / 2);
    launch_tiles(image, output, shape, radii, weights_x, weights_y, stream);
}

}  // namespace fxr::cuda
