// Eq. 1 blend and Eq. 2 face X-ray, plain and fused with the 3×3 softening.
#include "common.cuh"

namespace fxr::cuda {
namespace {

constexpr unsigned kThreads = 256;

__global__ void blend_kernel(const float* __restrict__ foreground,
                             const float* __restrict__ background,
                             const float* __restrict__ mask, float* __restrict__ output,
                             int64_t pixels, int channels) {
    const int64_t pixel = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
    if (pixel >= pixels) return;
    const float weight = clamp_unit(mask[pixel]);
    const int64_t base = pixel * channels;
    for (int channel = 0; channel < channels; ++channel) {
        const float f = foreground[base + channel];
        const float b = background[base + channel];
        output[base + channel] = weight * f + (1.0f - weight) * b;
    }
}

__global__ void xray_kernel(const float* __restrict__ mask, float* __restrict__ xray,
                            int64_t count) {
    const int64_t index = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
    if (index >= count) return;
    const float m = clamp_unit(mask[index]);
    xray[index] = 4.0f * m * (1.0f - m);
}

// One thread per pixel: the 3×3 Gaussian of the mask ((1, 2, 1)/4 in each
// direction, OpenCV's fixed table for size 3, summed in the CPU op's order so
// both agree bit for bit), clamped to [0, 1], then Eq. 1 and Eq. 2. The nine
// mask reads of neighbouring threads overlap and are served by L1.
__global__ void blend_with_xray_kernel(const float* __restrict__ foreground,
                                       const float* __restrict__ background,
                                       const float* __restrict__ mask, float* __restrict__ image,
                                       float* __restrict__ xray, float* __restrict__ softened,
                                       Shape shape) {
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    const int64_t sample = blockIdx.z;
    const int width = static_cast<int>(shape.width);
    const int height = static_cast<int>(shape.height);
    if (x >= width || y >= height) return;
    const float* plane = mask + sample * height * static_cast<int64_t>(width);
    const int left = reflect_101(x - 1, width), right = reflect_101(x + 1, width);
    auto horizontal = [&](int row) {
        const float* line = plane + row * static_cast<int64_t>(width);
        return 0.5f * line[x] + 0.25f * (line[right] + line[left]);
    };
    const float above = horizontal(reflect_101(y - 1, height));
    const float centre = horizontal(y);
    const float below = horizontal(reflect_101(y + 1, height));
    const float value = clamp_unit(0.5f * centre + 0.25f * (below + above));
    const int64_t pixel = (sample * height + y) * static_cast<int64_t>(width) + x;
    softened[pixel] = value;
    xray[pixel] = 4.0f * value * (1.0f - value);
    const int channels = static_cast<int>(shape.channels);
    const int64_t base = pixel * channels;
    for (int channel = 0; channel < channels; ++channel) {
        image[base + channel] =
            value * foreground[base + channel] + (1.0f - value) * background[base + channel];
    }
}

}  // namespace

void blend(const float* foreground, const float* background, const float* mask, float* output,
           Shape shape, cudaStream_t stream) {
    const int64_t pixels = shape.batch * shape.height * shape.width;
    if (pixels == 0) return;
    blend_kernel<<<blocks_for(pixels, kThreads), kThreads, 0, stream>>>(
        foreground, background, mask, output, pixels, static_cast<int>(shape.channels));
    check_launch("blend_kernel");
}

void face_xray(const float* mask, float* xray, int64_t count, cudaStream_t stream) {
    if (count == 0) return;
    xray_kernel<<<blocks_for(count, kThreads), kThreads, 0, stream>>>(mask, xray, count);
    check_launch("xray_kernel");
}

void blend_with_xray(const float* foreground, const float* background, const float* mask,
                     float* image, float* xray, float* softened, Shape shape,
                     cudaStream_t stream) {
    if (shape.batch * shape.height * shape.width == 0) return;
    const dim3 threads(32, 8);
    const int64_t plane = shape.height * shape.width;
    for_batch_chunks(shape.batch, [&](int64_t first, int64_t count) {
        Shape chunk = shape;
        chunk.batch = count;
        const int64_t pixels = first * plane;
        const int64_t values = pixels * shape.channels;
        const dim3 blocks(blocks_for(shape.width, threads.x), blocks_for(shape.height, threads.y),
                          static_cast<unsigned>(count));
        blend_with_xray_kernel<<<blocks, threads, 0, stream>>>(
            foreground + values, background + values, mask + pixels, image + values,
            xray + pixels, softened + pixels, chunk);
        check_launch("blend_with_xray_kernel");
    });
}

}  // namespace fxr::cuda
