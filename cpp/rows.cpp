// Scans of a row: where its positive values begin and end, and whether it is
// all zeros, by integer tests of the values' bits, which vectorise where
// float tests with an early exit do not. A float is > 0 exactly when its
// bits, read as a signed 32-bit integer, are > 0 (a positive NaN too): the
// integer maximum of a block tells whether any value in it is.
#include <cstring>
#include <type_traits>

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

template <typename T>
FXR_VECTOR_CLONES bool all_zero_bits(const T* row, std::ptrdiff_t length) {
    using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint8_t>;
    static_assert(sizeof(Bits) == sizeof(T));
    Bits any = 0;
    for (std::ptrdiff_t i = 0; i < length; ++i) {
        Bits bits;
        std::memcpy(&bits, row + i, sizeof bits);
        any |= bits;
    }
    return any == 0;
}

template bool all_zero_bits<float>(const float*, std::ptrdiff_t);
template bool all_zero_bits<std::uint8_t>(const std::uint8_t*, std::ptrdiff_t);

}  // namespace fxr
