// Where a row's positive values begin and end. A float is > 0 exactly when
// its bits, read as a signed 32-bit integer, are > 0 (a positive NaN too);
// the integer maximum of a block then tests it for any positive value with
// no branch per value, which vectorises where a float test with an early
// exit does not.
#include <cstring>

#include "image.hpp"

namespace fxr {

namespace {

constexpr std::ptrdiff_t kBlock = 32;

inline std::int32_t bits_of(const float* value) {
    std::int32_t bits;
    std::memcpy(&bits, value, sizeof bits);
    return bits;
}

// The largest bit pattern of kBlock values as signed integers.
inline std::int32_t largest_bits(const float* block) {
    std::int32_t largest = 0;
    for (std::ptrdiff_t k = 0; k < kBlock; ++k) {
        const std::int32_t bits = bits_of(block + k);
        largest = bits > largest ? bits : largest;
    }
    return largest;
}

}  // namespace

FXR_VECTOR_CLONES
std::ptrdiff_t first_positive(const float* row, std::ptrdiff_t length) {
    std::ptrdiff_t x = 0;
    while (x + kBlock <= length && largest_bits(row + x) <= 0) x += kBlock;
    while (x < length && bits_of(row + x) <= 0) ++x;
    return x;
}

FXR_VECTOR_CLONES
std::ptrdiff_t last_positive(const float* row, std::ptrdiff_t length) {
    std::ptrdiff_t x = length;
    while (x - kBlock >= 0 && largest_bits(row + x - kBlock) <= 0) x -= kBlock;
    while (x > 0 && bits_of(row + x - 1) <= 0) --x;
    return x - 1;
}

}  // namespace fxr
