// Piecewise-affine warp: Delaunay triangulation of the destination points,
// one inverse affine map per triangle, scanline rasterisation, bilinear
// sampling with a constant fill outside the image and outside the hull.
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "ops.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FXR_AVX2_SAMPLER 1
#endif

namespace fxr {

namespace {

struct Point {
    double x;
    double y;
};

constexpr int kGhost = -1;

bool before(const Point& a, const Point& b) { return a.x < b.x || (a.x == b.x && a.y < b.y); }

// Twice the signed area of a, b, c; positive when counter-clockwise. It is
// evaluated on the three points in one fixed order (and the sign fixed up),
// so every order of the same three points gets the same rounding: a point
// on an edge is then on it for both triangles that share the edge.
double orient(const Point& a, const Point& b, const Point& c) {
    const Point* p[3] = {&a, &b, &c};
    bool flipped = false;
    if (before(*p[1], *p[0])) std::swap(p[0], p[1]), flipped = !flipped;
    if (before(*p[2], *p[1])) std::swap(p[1], p[2]), flipped = !flipped;
    if (before(*p[1], *p[0])) std::swap(p[0], p[1]), flipped = !flipped;
    const double area = (p[1]->x - p[0]->x) * (p[2]->y - p[0]->y) -
                        (p[1]->y - p[0]->y) * (p[2]->x - p[0]->x);
    return flipped ? -area : area;
}

// Positive when d lies inside the circumcircle of the counter-clockwise a, b, c.
double in_circle(const Point& a, const Point& b, const Point& c, const Point& d) {
    const double adx = a.x - d.x, ady = a.y - d.y;
    const double bdx = b.x - d.x, bdy = b.y - d.y;
    const double cdx = c.x - d.x, cdy = c.y - d.y;
    return (adx * adx + ady * ady) * (bdx * cdy - cdx * bdy) +
           (bdx * bdx + bdy * bdy) * (cdx * ady - adx * cdy) +
           (cdx * cdx + cdy * cdy) * (adx * bdy - bdx * ady);
}

// Bowyer-Watson with "ghost" triangles instead of a finite super-triangle:
// a ghost (u, v, ghost) stands for the outside of hull edge u->v, and its
// circumcircle is the open half-plane left of u->v plus the open segment.
// This keeps every hull edge, which a finite super-triangle can lose when
// hull points are nearly collinear (the 4 x 4 grid's border rows are exactly
// collinear).
bool conflicts(const std::array<int, 3>& triangle, const std::vector<Point>& points,
               const Point& p) {
    int ghost_at = -1;
    for (int k = 0; k < 3; ++k)
        if (triangle[k] == kGhost) ghost_at = k;
    if (ghost_at < 0)
        return in_circle(points[triangle[0]], points[triangle[1]], points[triangle[2]], p) > 0.0;
    const Point& u = points[triangle[(ghost_at + 1) % 3]];
    const Point& v = points[triangle[(ghost_at + 2) % 3]];
    const double side = orient(u, v, p);
    if (side > 0.0) return true;
    if (side < 0.0) return false;
    const double along_u = (p.x - u.x) * (v.x - u.x) + (p.y - u.y) * (v.y - u.y);
    const double along_v = (p.x - v.x) * (u.x - v.x) + (p.y - v.y) * (u.y - v.y);
    return along_u > 0.0 && along_v > 0.0;
}

// Directed edge -> triangle, by open addressing in flat arrays (a few
// hundred entries for the paper's 16 points, so no allocation per edge).
// Entries are overwritten, never erased: the caller reads an entry whose
// triangle has died as no triangle.
class EdgeTable {
public:
    void assign(std::uint64_t key, int triangle) {
        if (2 * (used_ + 1) > keys_.size()) grow();
        std::size_t slot = home(key);
        while (keys_[slot] != kEmpty && keys_[slot] != key) slot = (slot + 1) & mask();
        if (keys_[slot] == kEmpty) ++used_;
        keys_[slot] = key;
        triangles_[slot] = triangle;
    }

    // The triangle last assigned to key, or -1.
    int find(std::uint64_t key) const {
        if (keys_.empty()) return -1;
        for (std::size_t slot = home(key);; slot = (slot + 1) & mask()) {
            if (keys_[slot] == key) return triangles_[slot];
            if (keys_[slot] == kEmpty) return -1;
        }
    }

private:
    // No edge has this key: it would join the ghost to itself.
    static constexpr std::uint64_t kEmpty = 0;

    std::size_t mask() const { return keys_.size() - 1; }
    std::size_t home(std::uint64_t key) const {
        // Fibonacci hashing: the top bits of key times 2^64 / golden ratio.
        return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_);
    }

    void grow() {
        std::vector<std::uint64_t> keys(keys_.empty() ? 256 : 2 * keys_.size(), kEmpty);
        std::vector<int> triangles(keys.size(), -1);
        keys.swap(keys_);
        triangles.swap(triangles_);
        shift_ = 64;
        for (std::size_t size = keys_.size(); size > 1; size >>= 1) --shift_;
        used_ = 0;
        for (std::size_t slot = 0; slot < keys.size(); ++slot)
            if (keys[slot] != kEmpty) assign(keys[slot], triangles[slot]);
    }

    std::vector<std::uint64_t> keys_;
    std::vector<int> triangles_;
    std::size_t used_ = 0;
    int shift_ = 64;
};

// The mesh under construction: triangles (dead ones stay as tombstones so
// indices are stable) and a table from each directed edge to its triangle.
class Mesh {
public:
    explicit Mesh(const std::vector<Point>& points) : points_(points) {
        // About six triangles are made per point inserted, most of them later replaced.
        const std::size_t expected = 8 * points.size() + 8;
        triangles_.reserve(expected);
        alive_.reserve(expected);
        cavity_mark_.reserve(expected);
    }

    void add(const std::array<int, 3>& triangle) {
        const int index = static_cast<int>(triangles_.size());
        triangles_.push_back(triangle);
        alive_.push_back(1);
        cavity_mark_.push_back(-1);
        for (int k = 0; k < 3; ++k) edges_.assign(key(triangle[k], triangle[(k + 1) % 3]), index);
    }

    // Its edges stay in the table until a new triangle takes them over;
    // neighbour() skips them meanwhile.
    void remove(int index) { alive_[index] = 0; }

    // Insert a point: its cavity is grown from the triangle that holds it
    // through neighbours whose circumcircle holds it, so it is connected
    // even where rounding makes in-circle answers inconsistent (cocircular
    // points), then widened until every new triangle has positive area.
    void insert(int index) {
        const Point& p = points_[index];
        const int seed = locate(p);
        if (seed < 0)
            throw std::invalid_argument("destination point " + std::to_string(index) +
                                        " could not be inserted (numerically degenerate)");
        auto& cavity = cavity_;
        cavity.assign(1, seed);
        cavity_mark_[seed] = index;
        for (std::size_t next = 0; next < cavity.size(); ++next) {
            const auto triangle = triangles_[cavity[next]];
            for (int k = 0; k < 3; ++k) {
                const int across = neighbour(triangle[k], triangle[(k + 1) % 3]);
                if (across >= 0 && cavity_mark_[across] != index &&
                    conflicts(triangles_[across], points_, p)) {
                    cavity_mark_[across] = index;
                    cavity.push_back(across);
                }
            }
        }
        for (bool widened = true; widened;) {
            widened = false;
            for (std::size_t c = 0; c < cavity.size(); ++c) {
                const auto triangle = triangles_[cavity[c]];
                for (int k = 0; k < 3; ++k) {
                    const int u = triangle[k], v = triangle[(k + 1) % 3];
                    const int across = neighbour(u, v);
                    if (across < 0 || cavity_mark_[across] == index) continue;
                    if (u != kGhost && v != kGhost && !(orient(points_[u], points_[v], p) > 0.0)) {
                        cavity_mark_[across] = index;
                        cavity.push_back(across);
                        widened = true;
                    }
                }
            }
        }
        auto& boundary = boundary_;
        boundary.clear();
        for (const int member : cavity) {
            const auto& triangle = triangles_[member];
            for (int k = 0; k < 3; ++k) {
                const int u = triangle[k], v = triangle[(k + 1) % 3];
                const int across = neighbour(u, v);
                if (across < 0 || cavity_mark_[across] != index) boundary.push_back({u, v});
            }
        }
        for (const int member : cavity) remove(member);
        for (const auto& edge : boundary) add({edge[0], edge[1], index});
    }

    std::vector<std::array<int, 3>> real_triangles() const {
        std::vector<std::array<int, 3>> real;
        for (std::size_t t = 0; t < triangles_.size(); ++t) {
            const auto& triangle = triangles_[t];
            if (alive_[t] && triangle[0] != kGhost && triangle[1] != kGhost &&
                triangle[2] != kGhost)
                real.push_back(triangle);
        }
        return real;
    }

private:
    static std::uint64_t key(int u, int v) {
        return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(u + 1)) << 32) |
               static_cast<std::uint32_t>(v + 1);
    }

    // The triangle on the other side of directed edge u->v, or -1.
    int neighbour(int u, int v) const {
        const int across = edges_.find(key(v, u));
        return across >= 0 && alive_[across] ? across : -1;
    }

    // A live real triangle holding p (edges included), else the ghost of
    // the hull edge that p lies farthest beyond, else (only when rounding
    // disagrees with itself) the real triangle p is nearest to being inside.
    int locate(const Point& p) const {
        int ghost = -1, nearest = -1;
        double farthest = 0.0, closest = -std::numeric_limits<double>::infinity();
        for (int t = static_cast<int>(triangles_.size()) - 1; t >= 0; --t) {
            if (!alive_[t]) continue;
            const auto& triangle = triangles_[t];
            int ghost_at = -1;
            for (int k = 0; k < 3; ++k)
                if (triangle[k] == kGhost) ghost_at = k;
            if (ghost_at < 0) {
                const Point& a = points_[triangle[0]];
                const Point& b = points_[triangle[1]];
                const Point& c = points_[triangle[2]];
                const double inside = std::min({orient(a, b, p), orient(b, c, p), orient(c, a, p)});
                if (inside >= 0.0) return t;
                if (inside > closest) closest = inside, nearest = t;
                continue;
            }
            const double beyond = orient(points_[triangle[(ghost_at + 1) % 3]],
                                         points_[triangle[(ghost_at + 2) % 3]], p);
            if (beyond > farthest) farthest = beyond, ghost = t;
        }
        return ghost >= 0 ? ghost : nearest;
    }

    const std::vector<Point>& points_;
    std::vector<std::array<int, 3>> triangles_;
    std::vector<char> alive_;
    std::vector<int> cavity_mark_;  // the point whose cavity holds the triangle
    EdgeTable edges_;
    // Scratch of insert(), kept to reuse its memory.
    std::vector<int> cavity_;
    std::vector<std::array<int, 2>> boundary_;
};

}  // namespace

std::vector<std::array<int, 3>> delaunay(const double* coordinates, int count) {
    if (count < 3)
        throw std::invalid_argument("need at least 3 destination points, got " +
                                    std::to_string(count));
    std::vector<Point> points(static_cast<std::size_t>(count));
    double min_x = coordinates[0], max_x = min_x, min_y = coordinates[1], max_y = min_y;
    for (int i = 0; i < count; ++i) {
        points[i] = {coordinates[2 * i], coordinates[2 * i + 1]};
        min_x = std::min(min_x, points[i].x);
        max_x = std::max(max_x, points[i].x);
        min_y = std::min(min_y, points[i].y);
        max_y = std::max(max_y, points[i].y);
    }
    const double extent = std::max({max_x - min_x, max_y - min_y, 1e-300});
    const double coincide = 1e-9 * extent;
    for (int i = 0; i < count; ++i)
        for (int j = i + 1; j < count; ++j)
            if (std::abs(points[i].x - points[j].x) <= coincide &&
                std::abs(points[i].y - points[j].y) <= coincide)
                throw std::invalid_argument("destination points " + std::to_string(i) + " and " +
                                            std::to_string(j) + " coincide");

    // Seed triangle: point 0, the point farthest from it, and the point
    // farthest from the line through both.
    int second = 1;
    double best = -1.0;
    for (int i = 1; i < count; ++i) {
        const double dx = points[i].x - points[0].x, dy = points[i].y - points[0].y;
        if (dx * dx + dy * dy > best) best = dx * dx + dy * dy, second = i;
    }
    int third = -1;
    double area = 0.0;
    for (int i = 1; i < count; ++i) {
        const double a = orient(points[0], points[second], points[i]);
        if (std::abs(a) > std::abs(area)) area = a, third = i;
    }
    if (third < 0 || std::abs(area) <= 1e-12 * extent * extent)
        throw std::invalid_argument("all destination points are collinear");
    if (area < 0) std::swap(second, third);

    Mesh mesh(points);
    mesh.add({0, second, third});
    mesh.add({second, 0, kGhost});
    mesh.add({third, second, kGhost});
    mesh.add({0, third, kGhost});
    for (int index = 0; index < count; ++index)
        if (index != 0 && index != second && index != third) mesh.insert(index);
    return mesh.real_triangles();
}

namespace {

// Bilinear sample at (x, y) with taps outside the image taking the fill
// value, as scikit-image's warp does with mode="constant".
template <typename T>
inline float sample_checked(const T* image, std::ptrdiff_t height, std::ptrdiff_t width,
                            std::ptrdiff_t channels, std::ptrdiff_t channel, float x, float y,
                            float fill) {
    // Far outside (or NaN from a degenerate map): every tap is fill. This
    // also keeps the float-to-integer conversions below in range.
    if (!(x > -2.0f && y > -2.0f && x < width + 1.0f && y < height + 1.0f)) return fill;
    const float x_floor = std::floor(x), y_floor = std::floor(y);
    const float fx = x - x_floor, fy = y - y_floor;
    const std::ptrdiff_t x0 = static_cast<std::ptrdiff_t>(x_floor);
    const std::ptrdiff_t y0 = static_cast<std::ptrdiff_t>(y_floor);
    auto tap = [&](std::ptrdiff_t xi, std::ptrdiff_t yi) -> float {
        if (xi < 0 || yi < 0 || xi >= width || yi >= height) return fill;
        return static_cast<float>(image[(yi * width + xi) * channels + channel]);
    };
    const float top = tap(x0, y0) + fx * (tap(x0 + 1, y0) - tap(x0, y0));
    const float bottom = tap(x0, y0 + 1) + fx * (tap(x0 + 1, y0 + 1) - tap(x0, y0 + 1));
    return top + fy * (bottom - top);
}

template <typename T>
inline void store(T* target, float value) {
    if constexpr (std::is_same_v<T, std::uint8_t>)
        *target = saturate_u8(value);
    else
        *target = value;
}

// A span of one-channel output pixels whose taps all lie inside the image:
// a straight loop the compiler vectorises with (emulated) gathers. Rounding
// can push a coordinate a hair past the margin, so the taps are clamped to
// stay inside.
template <typename T>
FXR_VECTOR_CLONES void sample_span_single(const T* __restrict input, T* __restrict output,
                                          int length, float x_start, float y_start, float step_x,
                                          float step_y, int width, int height) {
    for (int i = 0; i < length; ++i) {
        const float x = x_start + step_x * i, y = y_start + step_y * i;
        int x0 = static_cast<int>(x);
        x0 = x0 < 0 ? 0 : x0;
        x0 = x0 > width - 2 ? width - 2 : x0;
        int y0 = static_cast<int>(y);
        y0 = y0 < 0 ? 0 : y0;
        y0 = y0 > height - 2 ? height - 2 : y0;
        const float fx = x - x0, fy = y - y0;
        const int at = y0 * width + x0;
        const float v00 = input[at], v01 = input[at + 1];
        const float v10 = input[at + width], v11 = input[at + width + 1];
        const float top = v00 + fx * (v01 - v00);
        const float bottom = v10 + fx * (v11 - v10);
        store(output + i, top + fy * (bottom - top));
    }
}

#ifdef FXR_AVX2_SAMPLER
// sample_span_single for float with AVX2, eight pixels a step. A pixel's two
// horizontal taps are adjacent, so one 64-bit load brings both: two loads a
// pixel where the compiler's emulated gather makes four (AVX2's gather
// instructions measured slower still). The arithmetic is the scalar loop's,
// in its order and without FMA, so both give the same bits. The clamped taps
// are inside the image for any lane, so the last, partial step computes all
// eight and stores only the span's.
__attribute__((target("avx2"))) void sample_span_single_avx2(
    const float* __restrict input, float* __restrict output, int length, float x_start,
    float y_start, float step_x, float step_y, int width, int height) {
    const __m256i lane_numbers = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 lanes = _mm256_cvtepi32_ps(lane_numbers);
    const __m256 start_x = _mm256_set1_ps(x_start), start_y = _mm256_set1_ps(y_start);
    const __m256 steps_x = _mm256_set1_ps(step_x), steps_y = _mm256_set1_ps(step_y);
    const __m256i zero = _mm256_setzero_si256();
    const __m256i last_x = _mm256_set1_epi32(width - 2), last_y = _mm256_set1_epi32(height - 2);
    const __m256i stride = _mm256_set1_epi32(width);
    const float* below = input + width;
    // In chunks: first every offset and weight, then the taps, so no load
    // waits on the latency of its own index arithmetic.
    constexpr int kChunk = 64;
    alignas(32) std::uint32_t offsets[kChunk];
    alignas(32) float weights_x[kChunk], weights_y[kChunk];
    for (int chunk = 0; chunk < length; chunk += kChunk) {
        const int end = std::min(length - chunk, kChunk);
        for (int j = 0; j < end; j += 8) {
            const __m256 index =
                _mm256_add_ps(_mm256_set1_ps(static_cast<float>(chunk + j)), lanes);
            const __m256 x = _mm256_add_ps(start_x, _mm256_mul_ps(steps_x, index));
            const __m256 y = _mm256_add_ps(start_y, _mm256_mul_ps(steps_y, index));
            const __m256i x0 =
                _mm256_min_epi32(_mm256_max_epi32(_mm256_cvttps_epi32(x), zero), last_x);
            const __m256i y0 =
                _mm256_min_epi32(_mm256_max_epi32(_mm256_cvttps_epi32(y), zero), last_y);
            _mm256_store_ps(weights_x + j, _mm256_sub_ps(x, _mm256_cvtepi32_ps(x0)));
            _mm256_store_ps(weights_y + j, _mm256_sub_ps(y, _mm256_cvtepi32_ps(y0)));
            _mm256_store_si256(reinterpret_cast<__m256i*>(offsets + j),
                               _mm256_add_epi32(_mm256_mullo_epi32(y0, stride), x0));
        }
        for (int j = 0; j < end; j += 8) {
            const std::uint32_t* at = offsets + j;
            // Pixels a and b of a row as [a left, a right, b left, b right].
            auto pairs = [&](int a, int b, const float* row) {
                const auto* left = reinterpret_cast<const __m128i*>(row + at[a]);
                const auto* right = reinterpret_cast<const __m128i*>(row + at[b]);
                return _mm_castsi128_ps(
                    _mm_unpacklo_epi64(_mm_loadl_epi64(left), _mm_loadl_epi64(right)));
            };
            const __m256 fx = _mm256_load_ps(weights_x + j), fy = _mm256_load_ps(weights_y + j);
            const __m256 top_a = _mm256_set_m128(pairs(4, 5, input), pairs(0, 1, input));
            const __m256 top_b = _mm256_set_m128(pairs(6, 7, input), pairs(2, 3, input));
            const __m256 bottom_a = _mm256_set_m128(pairs(4, 5, below), pairs(0, 1, below));
            const __m256 bottom_b = _mm256_set_m128(pairs(6, 7, below), pairs(2, 3, below));
            const __m256 v00 = _mm256_shuffle_ps(top_a, top_b, _MM_SHUFFLE(2, 0, 2, 0));
            const __m256 v01 = _mm256_shuffle_ps(top_a, top_b, _MM_SHUFFLE(3, 1, 3, 1));
            const __m256 v10 = _mm256_shuffle_ps(bottom_a, bottom_b, _MM_SHUFFLE(2, 0, 2, 0));
            const __m256 v11 = _mm256_shuffle_ps(bottom_a, bottom_b, _MM_SHUFFLE(3, 1, 3, 1));
            const __m256 top = _mm256_add_ps(v00, _mm256_mul_ps(fx, _mm256_sub_ps(v01, v00)));
            const __m256 bottom = _mm256_add_ps(v10, _mm256_mul_ps(fx, _mm256_sub_ps(v11, v10)));
            const __m256 value =
                _mm256_add_ps(top, _mm256_mul_ps(fy, _mm256_sub_ps(bottom, top)));
            float* target = output + chunk + j;
            if (j + 8 <= end)
                _mm256_storeu_ps(target, value);
            else
                _mm256_maskstore_ps(
                    target, _mm256_cmpgt_epi32(_mm256_set1_epi32(end - j), lane_numbers), value);
        }
    }
}

// The AVX2 span where the CPU has AVX2 (checked once), else the portable one.
void sample_span(const float* input, float* output, int length, float x_start, float y_start,
                 float step_x, float step_y, int width, int height) {
    static const bool avx2 = __builtin_cpu_supports("avx2");
    if (avx2)
        sample_span_single_avx2(input, output, length, x_start, y_start, step_x, step_y, width,
                                height);
    else
        sample_span_single(input, output, length, x_start, y_start, step_x, step_y, width,
                           height);
}
#endif

// Any other element type, or a build without the AVX2 span.
template <typename T>
void sample_span(const T* input, T* output, int length, float x_start, float y_start,
                 float step_x, float step_y, int width, int height) {
    sample_span_single(input, output, length, x_start, y_start, step_x, step_y, width, height);
}

// Channels is a compile-time count for the common 1- and 3-channel cases
// (0: use the runtime count), so the inner loops unroll. Cloned like the hot
// loops: the per-row span bounds use ceil and floor, single instructions
// with SSE4.1 but long sequences in the x86-64 baseline. It must not throw
// (the triangulation, which can, is done by the caller): GCC's clone
// dispatcher is taken not to throw, so an exception would skip the caller's
// handler.
template <typename T, int Channels>
FXR_VECTOR_CLONES void warp_image(const T* input, T* output, std::ptrdiff_t height,
                                  std::ptrdiff_t width, std::ptrdiff_t runtime_channels,
                                  const double* source, const double* destination,
                                  const std::vector<std::array<int, 3>>& triangles, float fill) {
    const std::ptrdiff_t channels = Channels > 0 ? Channels : runtime_channels;
    {
        T fill_value;
        store(&fill_value, fill);
        std::fill(output, output + height * width * channels, fill_value);
    }
    // zero_rows_before[k]: how many of the input's rows [0, k) are all +0.
    // Where every tap of a span lies in such rows its pixels are +0 exactly
    // (each difference, product and sum is +0), so the span is not sampled.
    std::vector<int> zero_rows_before(static_cast<std::size_t>(height + 1), 0);
    for (std::ptrdiff_t y = 0; y < height; ++y)
        zero_rows_before[y + 1] =
            zero_rows_before[y] + all_zero_bits(input + y * width * channels, width * channels);
    for (const auto& triangle : triangles) {
        Point d[3], s[3];
        for (int k = 0; k < 3; ++k) {
            d[k] = {destination[2 * triangle[k]], destination[2 * triangle[k] + 1]};
            s[k] = {source[2 * triangle[k]], source[2 * triangle[k] + 1]};
        }
        // Skip slivers: rounding in the triangulation can leave one along
        // (nearly) collinear points. It covers no area, and the pixel centres
        // on its long edge belong to its neighbour, whose map is well defined.
        const double determinant = orient(d[0], d[1], d[2]);
        double longest = 0.0;
        for (int k = 0; k < 3; ++k)
            longest = std::max(longest, std::hypot(d[(k + 1) % 3].x - d[k].x,
                                                   d[(k + 1) % 3].y - d[k].y));
        if (!(determinant > 1e-10 * longest * longest)) continue;
        // Affine map destination -> source through barycentric coordinates.
        const double i00 = (d[2].y - d[0].y) / determinant, i01 = -(d[2].x - d[0].x) / determinant;
        const double i10 = -(d[1].y - d[0].y) / determinant, i11 = (d[1].x - d[0].x) / determinant;
        const double s00 = s[1].x - s[0].x, s01 = s[2].x - s[0].x;
        const double s10 = s[1].y - s[0].y, s11 = s[2].y - s[0].y;
        const double ax = s00 * i00 + s01 * i10, bx = s00 * i01 + s01 * i11;
        const double ay = s10 * i00 + s11 * i10, by = s10 * i01 + s11 * i11;
        const double cx = s[0].x - ax * d[0].x - bx * d[0].y;
        const double cy = s[0].y - ay * d[0].x - by * d[0].y;

        const double low_y = std::min({d[0].y, d[1].y, d[2].y});
        const double high_y = std::max({d[0].y, d[1].y, d[2].y});
        // Clamp in floating point before converting, so no coordinate can
        // overflow the integer conversion.
        const double row_top = std::max(0.0, std::ceil(low_y - 1e-7));
        const double row_bottom = std::min(height - 1.0, std::floor(high_y + 1e-7));
        if (!(row_top <= row_bottom)) continue;
        const std::ptrdiff_t row_first = static_cast<std::ptrdiff_t>(row_top);
        const std::ptrdiff_t row_last = static_cast<std::ptrdiff_t>(row_bottom);
        // Each edge a->b keeps the points with orient(a, b, p) >= -1e-7 |b - a|
        // (pixel centres on an edge count as inside). On row y that reads
        // slope * x >= constant + per_row * y: a bound on x.
        double slope[3], constant[3], per_row[3], reciprocal[3];
        for (int k = 0; k < 3; ++k) {
            const Point& a = d[k];
            const Point& b = d[(k + 1) % 3];
            slope[k] = -(b.y - a.y);
            per_row[k] = -(b.x - a.x);
            constant[k] = -1e-7 * std::hypot(b.x - a.x, b.y - a.y) + (b.x - a.x) * a.y -
                          (b.y - a.y) * a.x;
            reciprocal[k] = slope[k] != 0.0 ? 1.0 / slope[k] : 0.0;
        }
        for (std::ptrdiff_t row = row_first; row <= row_last; ++row) {
            double left = 0.0, right = static_cast<double>(width - 1);
            bool empty = false;
            for (int k = 0; k < 3; ++k) {
                const double limit = constant[k] + per_row[k] * row;
                if (slope[k] > 0.0)
                    left = std::max(left, limit * reciprocal[k]);
                else if (slope[k] < 0.0)
                    right = std::min(right, limit * reciprocal[k]);
                else if (limit > 0.0)
                    empty = true;
            }
            // left only grows from 0 and right only shrinks from width - 1,
            // so once ordered both convert safely.
            if (empty || !(std::ceil(left) <= std::floor(right))) continue;
            const std::ptrdiff_t first = static_cast<std::ptrdiff_t>(std::ceil(left));
            const std::ptrdiff_t last = static_cast<std::ptrdiff_t>(std::floor(right));

            // Every path steps from the span's first pixel with the same float
            // arithmetic, so a colour image's channels warp to the same bits
            // as each channel alone.
            const float step_x = static_cast<float>(ax), step_y = static_cast<float>(ay);
            const float span_x = static_cast<float>(bx * row + cx) + step_x * first;
            const float span_y = static_cast<float>(by * row + cy) + step_y * first;
            const int length = static_cast<int>(last - first + 1);
            T* target = output + (row * width + first) * channels;
            // Inside the image with a margin the four taps need no checks.
            const double x_a = ax * first + bx * row + cx, x_b = ax * last + bx * row + cx;
            const double y_a = ay * first + by * row + cy, y_b = ay * last + by * row + cy;
            const bool interior = width >= 2 && height >= 2 && std::min(x_a, x_b) >= 0.0 &&
                                  std::max(x_a, x_b) < width - 1 && std::min(y_a, y_b) >= 0.0 &&
                                  std::max(y_a, y_b) < height - 1;
            if (interior) {
                // The rows the taps can touch, with room for the float rounding of y.
                const auto top =
                    static_cast<std::ptrdiff_t>(std::max(0.0, std::min(y_a, y_b) - 0.01));
                const auto bottom = std::min<std::ptrdiff_t>(
                    height - 1, static_cast<std::ptrdiff_t>(std::max(y_a, y_b) + 0.01) + 1);
                if (zero_rows_before[bottom + 1] - zero_rows_before[top] == bottom - top + 1) {
                    std::fill(target, target + length * channels, T(0));
                    continue;
                }
            }
            if (interior && channels == 1) {
                sample_span(input, target, length, span_x, span_y, step_x, step_y,
                            static_cast<int>(width), static_cast<int>(height));
            } else if (interior) {
                for (int i = 0; i < length; ++i) {
                    const float x = span_x + step_x * i, y = span_y + step_y * i;
                    // Rounding can push a coordinate a hair past the margin:
                    // clamp the tap so the reads stay inside.
                    const std::ptrdiff_t x0 = std::min<std::ptrdiff_t>(
                        std::max<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(x), 0), width - 2);
                    const std::ptrdiff_t y0 = std::min<std::ptrdiff_t>(
                        std::max<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(y), 0), height - 2);
                    const float fx = x - x0, fy = y - y0;
                    const T* p00 = input + (y0 * width + x0) * channels;
                    const T* p10 = p00 + width * channels;
                    for (std::ptrdiff_t c = 0; c < channels; ++c) {
                        const float v00 = p00[c], v01 = p00[c + channels];
                        const float v10 = p10[c], v11 = p10[c + channels];
                        const float top = v00 + fx * (v01 - v00);
                        const float bottom = v10 + fx * (v11 - v10);
                        store(target + c, top + fy * (bottom - top));
                    }
                    target += channels;
                }
            } else {
                for (int i = 0; i < length; ++i) {
                    const float x = span_x + step_x * i, y = span_y + step_y * i;
                    for (std::ptrdiff_t c = 0; c < channels; ++c)
                        store(target + c,
                              sample_checked(input, height, width, channels, c, x, y, fill));
                    target += channels;
                }
            }
        }
    }
}

}  // namespace

template <typename T>
void warp_piecewise_affine(const Batch<const T>& input, const Batch<T>& output,
                           const double* source, const double* destination,
                           std::ptrdiff_t point_sets, int count, float fill) {
    // The vectorised sampler indexes with 32-bit integers.
    if (input.image_size() > 0x7fffffff)
        throw std::invalid_argument("image too large for the warp (over 2^31 values per image)");
    parallel_for(input.count, [&](std::ptrdiff_t n) {
        const std::ptrdiff_t set = point_sets == 1 ? 0 : n;
        const double* src = source + set * count * 2;
        const double* dst = destination + set * count * 2;
        const T* in = input.image(n);
        T* out = output.image(n);
        try {
            const auto triangles = delaunay(dst, count);
            switch (input.channels) {
                case 1:
                    warp_image<T, 1>(in, out, input.height, input.width, 1, src, dst,
                                     triangles, fill);
                    break;
                case 3:
                    warp_image<T, 3>(in, out, input.height, input.width, 3, src, dst,
                                     triangles, fill);
                    break;
                default:
                    warp_image<T, 0>(in, out, input.height, input.width, input.channels, src,
                                     dst, triangles, fill);
            }
        } catch (const std::invalid_argument& error) {
            // Say which of a batch's point sets was degenerate.
            if (point_sets == 1) throw;
            throw std::invalid_argument("point set " + std::to_string(n) + ": " + error.what());
        }
    });
}

template void warp_piecewise_affine<float>(const Batch<const float>&, const Batch<float>&,
                                           const double*, const double*, std::ptrdiff_t, int,
                                           float);
template void warp_piecewise_affine<std::uint8_t>(const Batch<const std::uint8_t>&,
                                                  const Batch<std::uint8_t>&, const double*,
                                                  const double*, std::ptrdiff_t, int, float);

}  // namespace fxr
