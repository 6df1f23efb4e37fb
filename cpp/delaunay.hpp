// The geometry the warp shares with the triangulation (delaunay.cpp), so both
// round alike: a pixel on a shared edge falls in exactly one triangle.
#pragma once

namespace fxr {

struct Point {
    double x;
    double y;
};

// Twice the signed area of a, b, c; positive when counter-clockwise. The
// same value for every order of the same three points, up to the sign.
double orient(const Point& a, const Point& b, const Point& c);

}  // namespace fxr
