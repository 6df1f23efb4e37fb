// Piecewise-affine warp: out(destination) = in(source), bilinear.
//
// Each block covers a tile of one sample. It first turns that sample's
// triangles into shared-memory records (edge half-planes of the destination
// triangle and its affine map to the source, in double like the CPU op, so
// pixels on a hull edge fall on the same side), then each thread finds its
// pixel's triangle and samples the input there.
#include "common.cuh"

namespace fxr::cuda {
namespace {

constexpr int kTileWidth = 32;
constexpr int kTileHeight = 8;

// A destination triangle as three edge half-planes and its affine map to the
// source, built like the CPU op: counter-clockwise triangles only, and a pixel
// centre within 1e-7 pixels of an edge counts as inside.
struct Triangle {
    double edge[3][3];  // inside when edge[k][0]·x + edge[k][1]·y + edge[k][2] >= 0 for all k
    double map[6];      // source x = map[0]·x + map[1]·y + map[2], y = map[3]·x + map[4]·y + map[5]
    int valid;
};

__device__ Triangle make_triangle(const float* source, const float* destination,
                                  const int32_t* vertices, int point_count) {
    Triangle triangle{};
    int index[3];
    for (int k = 0; k < 3; ++k) {
        index[k] = vertices[k];
        // A padding row (-1) or an index the host already rejected.
        if (index[k] < 0 || index[k] >= point_count) return triangle;
    }
    double dx[3], dy[3];
    for (int k = 0; k < 3; ++k) {
        dx[k] = destination[2 * index[k]];
        dy[k] = destination[2 * index[k] + 1];
    }
    const double determinant = (dx[1] - dx[0]) * (dy[2] - dy[0]) - (dy[1] - dy[0]) * (dx[2] - dx[0]);
    if (!(determinant > 0.0)) return triangle;  // a sliver from rounding covers no pixel centre
    for (int k = 0; k < 3; ++k) {
        const int next = (k + 1) % 3;
        const double ex = dx[next] - dx[k], ey = dy[next] - dy[k];
        // cross(edge, p − a) >= −1e-7·|edge|
        triangle.edge[k][0] = -ey;
        triangle.edge[k][1] = ex;
        triangle.edge[k][2] = ey * dx[k] - ex * dy[k] + 1e-7 * sqrt(ex * ex + ey * ey);
    }
    const double i00 = (dy[2] - dy[0]) / determinant, i01 = -(dx[2] - dx[0]) / determinant;
    const double i10 = -(dy[1] - dy[0]) / determinant, i11 = (dx[1] - dx[0]) / determinant;
    double sx[3], sy[3];
    for (int k = 0; k < 3; ++k) {
        sx[k] = source[2 * index[k]];
        sy[k] = source[2 * index[k] + 1];
    }
    const double s00 = sx[1] - sx[0], s01 = sx[2] - sx[0];
    const double s10 = sy[1] - sy[0], s11 = sy[2] - sy[0];
    const double ax = s00 * i00 + s01 * i10, bx = s00 * i01 + s01 * i11;
    const double ay = s10 * i00 + s11 * i10, by = s10 * i01 + s11 * i11;
    triangle.map[0] = ax;
    triangle.map[1] = bx;
    triangle.map[2] = sx[0] - ax * dx[0] - bx * dy[0];
    triangle.map[3] = ay;
    triangle.map[4] = by;
    triangle.map[5] = sy[0] - ay * dx[0] - by * dy[0];
    triangle.valid = 1;
    return triangle;
}

__global__ void warp_kernel(const float* __restrict__ image, float* __restrict__ output,
                            Shape shape, const float* __restrict__ source_points,
                            const float* __restrict__ destination_points, int point_count,
                            int64_t points_stride, const int32_t* __restrict__ triangles,
                            int triangle_count, int64_t triangles_stride, float fill,
                            int64_t first_sample) {
    extern __shared__ Triangle records[];
    const int64_t sample = first_sample + blockIdx.z;
    const int thread = threadIdx.y * blockDim.x + threadIdx.x;
    const int threads = blockDim.x * blockDim.y;
    const float* source = source_points + sample * points_stride;
    const float* destination = destination_points + sample * points_stride;
    const int32_t* vertices = triangles + sample * triangles_stride;
    for (int t = thread; t < triangle_count; t += threads) {
        records[t] = make_triangle(source, destination, vertices + 3 * t, point_count);
    }
    __syncthreads();

    const int x = blockIdx.x * kTileWidth + threadIdx.x;
    const int y = blockIdx.y * kTileHeight + threadIdx.y;
    const int width = static_cast<int>(shape.width);
    const int height = static_cast<int>(shape.height);
    if (x >= width || y >= height) return;
    const int channels = static_cast<int>(shape.channels);
    float* out = output + ((sample * height + y) * static_cast<int64_t>(width) + x) * channels;

    // A pixel on an edge shared by two triangles maps to the same source
    // point through either, so the first hit is as good as any.
    int hit = -1;
    for (int t = 0; t < triangle_count && hit < 0; ++t) {
        const Triangle& triangle = records[t];
        if (!triangle.valid) continue;
        bool inside = true;
#pragma unroll
        for (int k = 0; k < 3; ++k) {
            inside = inside && triangle.edge[k][0] * x + triangle.edge[k][1] * y + triangle.edge[k][2] >= 0.0;
        }
        if (inside) hit = t;
    }
    if (hit < 0) {
        for (int channel = 0; channel < channels; ++channel) out[channel] = fill;
        return;
    }
    const double* map = records[hit].map;
    // Far outside the input every tap is `fill` anyway; clamping keeps the
    // integer conversion below defined for any finite or infinite position.
    const double sx = fmin(fmax(map[0] * x + map[1] * y + map[2], -2.0), width + 1.0);
    const double sy = fmin(fmax(map[3] * x + map[4] * y + map[5], -2.0), height + 1.0);

    // Bilinear: the four neighbours of (sx, sy); a neighbour outside the
    // image contributes `fill`, as with a constant border.
    const double fx0 = floor(sx), fy0 = floor(sy);
    const float wx = static_cast<float>(sx - fx0);
    const float wy = static_cast<float>(sy - fy0);
    const int64_t ix0 = static_cast<int64_t>(fx0), iy0 = static_cast<int64_t>(fy0);
    const float* plane = image + sample * height * static_cast<int64_t>(width) * channels;
    const bool inside_x0 = ix0 >= 0 && ix0 < width, inside_x1 = ix0 + 1 >= 0 && ix0 + 1 < width;
    const bool inside_y0 = iy0 >= 0 && iy0 < height, inside_y1 = iy0 + 1 >= 0 && iy0 + 1 < height;
    for (int channel = 0; channel < channels; ++channel) {
        auto at = [&](int64_t row, int64_t column, bool inside) {
            return inside ? plane[(row * width + column) * channels + channel] : fill;
        };
        const float v00 = at(iy0, ix0, inside_y0 && inside_x0);
        const float v01 = at(iy0, ix0 + 1, inside_y0 && inside_x1);
        const float v10 = at(iy0 + 1, ix0, inside_y1 && inside_x0);
        const float v11 = at(iy0 + 1, ix0 + 1, inside_y1 && inside_x1);
        const float top = v00 + wx * (v01 - v00);
        const float bottom = v10 + wx * (v11 - v10);
        out[channel] = top + wy * (bottom - top);
    }
}

}  // namespace

void warp_piecewise_affine(const float* image, float* output, Shape shape,
                           const float* source_points, const float* destination_points,
                           int64_t point_count, bool points_per_sample,
                           const int32_t* triangles, int64_t triangle_count,
                           bool triangles_per_sample, float fill, cudaStream_t stream) {
    if (triangle_count < 1 || triangle_count > kMaxTriangles) {
        throw std::invalid_argument("warp_piecewise_affine: need 1 to " +
                                    std::to_string(kMaxTriangles) + " triangles, got " +
                                    std::to_string(triangle_count));
    }
    if (shape.batch * shape.height * shape.width * shape.channels == 0) return;
    const size_t shared_bytes = sizeof(Triangle) * static_cast<size_t>(triangle_count);
    if (shared_bytes > 48 * 1024) {
        check(cudaFuncSetAttribute(warp_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                   static_cast<int>(shared_bytes)),
              "cudaFuncSetAttribute(warp_kernel)");
    }
    const int64_t points_stride = points_per_sample ? 2 * point_count : 0;
    const int64_t triangles_stride = triangles_per_sample ? 3 * triangle_count : 0;
    for_batch_chunks(shape.batch, [&](int64_t first, int64_t count) {
        const dim3 blocks(blocks_for(shape.width, kTileWidth), blocks_for(shape.height, kTileHeight),
                          static_cast<unsigned>(count));
        warp_kernel<<<blocks, dim3(kTileWidth, kTileHeight), shared_bytes, stream>>>(
            image, output, shape, source_points, destination_points,
            static_cast<int>(point_count), points_stride, triangles,
            static_cast<int>(triangle_count), triangles_stride, fill, first);
        check_launch("warp_kernel");
    });
}

}  // namespace fxr::cuda
