// Colour transfer: per-sample, per-channel statistics inside mask > 0.
//
// One block per sample does the masked reduction (in double, like the CPU
// op, so 65k-pixel sums keep their digits) and then rewrites the sample's
// foreground; no scratch memory and one launch. Channels go in groups of
// kGroup so the accumulators stay in registers.
#include "common.cuh"

namespace fxr::cuda {
namespace {

constexpr int kGroup = 4;
constexpr int kThreads = 512;
constexpr int kWarps = kThreads / 32;
// count, then per channel of the group: sum and sum of squares of F and B.
constexpr int kSums = 1 + 4 * kGroup;

__device__ double warp_sum(double value) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        value += __shfl_down_sync(0xffffffffu, value, offset);
    }
    return value;
}

__global__ void __launch_bounds__(kThreads)
    colour_transfer_kernel(const float* __restrict__ foreground,
                           const float* __restrict__ background,
                           const float* __restrict__ mask, float* __restrict__ output,
                           Shape shape, bool match_std_all,
                           const int32_t* __restrict__ match_std_per_sample,
                           int64_t first_sample) {
    __shared__ double partial[kWarps][kSums];
    __shared__ float shift[kGroup];
    __shared__ float scale[kGroup];
    const int64_t sample = first_sample + blockIdx.x;
    const bool match_std =
        match_std_per_sample ? match_std_per_sample[sample] != 0 : match_std_all;
    const int first_channel = blockIdx.y * kGroup;
    const int channels = static_cast<int>(shape.channels);
    const int group = min(kGroup, channels - first_channel);
    const int64_t pixels = shape.height * shape.width;
    const float* f = foreground + sample * pixels * channels;
    const float* b = background + sample * pixels * channels;
    const float* m = mask + sample * pixels;
    float* out = output + sample * pixels * channels;

    double sums[kSums] = {};
    for (int64_t pixel = threadIdx.x; pixel < pixels; pixel += kThreads) {
        if (!(m[pixel] > 0.0f)) continue;
        sums[0] += 1.0;
#pragma unroll
        for (int c = 0; c < kGroup; ++c) {
            if (c >= group) break;
            const double fv = f[pixel * channels + first_channel + c];
            const double bv = b[pixel * channels + first_channel + c];
            sums[1 + 4 * c] += fv;
            sums[2 + 4 * c] += fv * fv;
            sums[3 + 4 * c] += bv;
            sums[4 + 4 * c] += bv * bv;
        }
    }
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
#pragma unroll
    for (int k = 0; k < kSums; ++k) {
        const double total = warp_sum(sums[k]);
        if (lane == 0) partial[warp][k] = total;
    }
    __syncthreads();
    if (threadIdx.x < group) {
        const int c = threadIdx.x;
        double count = 0.0, sum_f = 0.0, square_f = 0.0, sum_b = 0.0, square_b = 0.0;
        for (int w = 0; w < kWarps; ++w) {
            count += partial[w][0];
            sum_f += partial[w][1 + 4 * c];
            square_f += partial[w][2 + 4 * c];
            sum_b += partial[w][3 + 4 * c];
            square_b += partial[w][4 + 4 * c];
        }
        if (count == 0.0) {  // empty mask: nothing to match, leave the foreground as it is
            shift[c] = 0.0f;
            scale[c] = 1.0f;
        } else {
            const double mean_f = sum_f / count, mean_b = sum_b / count;
            double factor = 1.0;
            if (match_std) {
                const double var_f = fmax(square_f / count - mean_f * mean_f, 0.0);
                const double var_b = fmax(square_b / count - mean_b * mean_b, 0.0);
                // A flat foreground has no spread to scale; only its mean moves.
                if (var_f > 0.0) factor = sqrt(var_b / var_f);
            }
            // out = (f − mean_f)·factor + mean_b = f·factor + shift
            scale[c] = static_cast<float>(factor);
            shift[c] = static_cast<float>(mean_b - mean_f * factor);
        }
    }
    __syncthreads();
    for (int64_t pixel = threadIdx.x; pixel < pixels; pixel += kThreads) {
#pragma unroll
        for (int c = 0; c < kGroup; ++c) {
            if (c >= group) break;
            const int64_t index = pixel * channels + first_channel + c;
            out[index] = f[index] * scale[c] + shift[c];
        }
    }
}

}  // namespace

void colour_transfer(const float* foreground, const float* background, const float* mask,
                     float* output, Shape shape, bool match_std,
                     const int32_t* match_std_per_sample, cudaStream_t stream) {
    if (shape.batch * shape.height * shape.width * shape.channels == 0) return;
    const unsigned groups = static_cast<unsigned>((shape.channels + kGroup - 1) / kGroup);
    for_batch_chunks(shape.batch, [&](int64_t first, int64_t count) {
        colour_transfer_kernel<<<dim3(static_cast<unsigned>(count), groups), kThreads, 0, stream>>>(
            foreground, background, mask, output, shape, match_std, match_std_per_sample, first);
        check_launch("colour_transfer_kernel");
    });
}

}  // namespace fxr::cuda
