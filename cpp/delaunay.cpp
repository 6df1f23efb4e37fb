// Delaunay triangulation of the warp's destination points (Bowyer-Watson with
// ghost triangles), and the orientation predicate the warp shares with it.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "delaunay.hpp"
#include "ops.hpp"

namespace fxr {

namespace {

bool before(const Point& a, const Point& b) { return a.x < b.x || (a.x == b.x && a.y < b.y); }

}  // namespace

// Evaluated on the three points in one fixed order (and the sign fixed up), so
// every order of the same three points gets the same rounding: a point on an
// edge is then on it for both triangles that share the edge.
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

namespace {

constexpr int kGhost = -1;

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

}  // namespace fxr
