// The one pybind11 module. It checks what reaches the kernels (dtype, rank,
// contiguity, shapes) so that even a direct call cannot read out of bounds;
// friendly validation and reshaping live in facexray_forensics/ops/.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>

#include "ops.hpp"

namespace py = pybind11;

#ifdef FXR_WITH_CUDA
// Defined in cpp/cuda/bindings.cpp, beside the kernels; adds the GPU entry points.
void register_cuda_ops(py::module_& m);
#endif

namespace {

std::string shape_text(const py::array& array) {
    std::string text = "(";
    for (py::ssize_t d = 0; d < array.ndim(); ++d)
        text += (d ? ", " : "") + std::to_string(array.shape(d));
    return text + ")";
}

template <typename T>
void require(const py::array& array, const char* name, py::ssize_t rank) {
    if (!array.dtype().is(py::dtype::of<T>()))
        throw std::invalid_argument(std::string(name) + ": wrong dtype " +
                                    std::string(py::str(array.dtype())));
    if (array.ndim() != rank)
        throw std::invalid_argument(std::string(name) + ": expected rank " +
                                    std::to_string(rank) + ", got shape " + shape_text(array));
    if (!(array.flags() & py::array::c_style))
        throw std::invalid_argument(std::string(name) + ": array must be C-contiguous");
    if (!(array.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
        throw std::invalid_argument(std::string(name) + ": array must be aligned");
}

template <typename T>
fxr::Batch<T> batch_of(py::array& array) {
    return {static_cast<T*>(array.mutable_data()), array.shape(0), array.shape(1), array.shape(2),
            array.shape(3)};
}

template <typename T>
fxr::Batch<const T> const_batch_of(const py::array& array) {
    return {static_cast<const T*>(array.data()), array.shape(0), array.shape(1), array.shape(2),
            array.shape(3)};
}

// A new N x H x W x C array of like's dtype on a buffer from the op cache;
// the buffer goes back to the cache when numpy frees the array.
py::array empty_like_shape(const py::array& like, py::ssize_t channels) {
    const std::vector<py::ssize_t> shape{like.shape(0), like.shape(1), like.shape(2), channels};
    const std::size_t bytes = static_cast<std::size_t>(shape[0] * shape[1] * shape[2] * channels) *
                              static_cast<std::size_t>(like.itemsize());
    void* data = fxr::take_buffer(bytes);
    py::capsule owner(data, [](void* buffer) { fxr::give_buffer(buffer); });
    return py::array(like.dtype(), shape, data, owner);
}

void require_same_images(const py::array& a, const py::array& b, const char* what) {
    for (int d = 0; d < 4; ++d)
        if (a.shape(d) != b.shape(d))
            throw std::invalid_argument(std::string(what) + ": shapes " + shape_text(a) + " and " +
                                        shape_text(b) + " differ");
}

void require_mask(const py::array& image, const py::array& mask) {
    for (int d = 0; d < 3; ++d)
        if (image.shape(d) != mask.shape(d) || mask.shape(3) != 1)
            throw std::invalid_argument("mask shape " + shape_text(mask) +
                                        " does not match image shape " + shape_text(image));
}

// The inputs every foreground/background/mask op takes: float32 batches of
// equal shape and a one-channel mask of the same spatial size.
void require_blend_inputs(const py::array& foreground, const py::array& background,
                          const py::array& mask, const char* what) {
    require<float>(foreground, "foreground", 4);
    require<float>(background, "background", 4);
    require<float>(mask, "mask", 4);
    require_same_images(foreground, background, what);
    require_mask(foreground, mask);
}

template <typename T>
py::array warp_typed(const py::array& image, const py::array& source,
                     const py::array& destination, float fill) {
    require<T>(image, "image", 4);
    require<double>(source, "source_points", 3);
    require<double>(destination, "destination_points", 3);
    if (source.shape(0) != destination.shape(0) || source.shape(1) != destination.shape(1) ||
        source.shape(2) != 2 || destination.shape(2) != 2)
        throw std::invalid_argument("source and destination points must both be S x P x 2");
    if (source.shape(0) != 1 && source.shape(0) != image.shape(0))
        throw std::invalid_argument("point sets must number 1 or the batch size");
    py::array output = empty_like_shape(image, image.shape(3));
    const auto in = const_batch_of<T>(image);
    const auto out = batch_of<T>(output);
    const double* src = static_cast<const double*>(source.data());
    const double* dst = static_cast<const double*>(destination.data());
    const auto sets = source.shape(0);
    const int count = static_cast<int>(source.shape(1));
    {
        py::gil_scoped_release release;
        fxr::warp_piecewise_affine<T>(in, out, src, dst, sets, count, fill);
    }
    return output;
}

template <typename T>
py::array blur_typed(const py::array& image, int kernel_x, int kernel_y, double sigma_x,
                     double sigma_y) {
    require<T>(image, "image", 4);
    py::array output = empty_like_shape(image, image.shape(3));
    const auto in = const_batch_of<T>(image);
    const auto out = batch_of<T>(output);
    {
        py::gil_scoped_release release;
        fxr::gaussian_blur<T>(in, out, kernel_x, kernel_y, sigma_x, sigma_y);
    }
    return output;
}

bool is_uint8(const py::array& array) { return array.dtype().is(py::dtype::of<std::uint8_t>()); }

// The data of an aligned C-contiguous float32 array, for the whole-array checks.
const float* checked_float_data(const py::array& array, const char* what) {
    if (!array.dtype().is(py::dtype::of<float>()) || !(array.flags() & py::array::c_style) ||
        !(array.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
        throw std::invalid_argument(std::string(what) +
                                    " needs an aligned C-contiguous float32 array");
    return static_cast<const float*>(array.data());
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "Private compiled ops of facexray_forensics; use facexray_forensics.ops.";
#ifdef FXR_WITH_CUDA
    m.attr("built_with_cuda") = true;
#else
    m.attr("built_with_cuda") = false;
#endif

    m.def("set_threads", &fxr::set_thread_count, py::arg("threads"),
          "Worker threads for batch ops; 0 means one per hardware thread.");
    m.def("get_threads", &fxr::thread_count, "Worker threads the batch ops use now.");

    m.def(
        "delaunay",
        [](const py::array& points) {
            require<double>(points, "points", 2);
            if (points.shape(1) != 2) throw std::invalid_argument("points must be P x 2");
            const auto triangles = fxr::delaunay(static_cast<const double*>(points.data()),
                                                 static_cast<int>(points.shape(0)));
            py::array_t<std::int32_t> result(
                std::vector<py::ssize_t>{static_cast<py::ssize_t>(triangles.size()), 3});
            auto view = result.mutable_unchecked<2>();
            for (std::size_t t = 0; t < triangles.size(); ++t)
                for (int k = 0; k < 3; ++k) view(t, k) = triangles[t][k];
            return result;
        },
        py::arg("points"));

    m.def(
        "warp_piecewise_affine",
        [](const py::array& image, const py::array& source, const py::array& destination,
           float fill) {
            return is_uint8(image) ? warp_typed<std::uint8_t>(image, source, destination, fill)
                                   : warp_typed<float>(image, source, destination, fill);
        },
        py::arg("image"), py::arg("source"), py::arg("destination"), py::arg("fill"));

    m.def(
        "gaussian_kernel",
        [](int size, double sigma) {
            const auto kernel = fxr::gaussian_kernel(size, sigma);
            py::array_t<float> result(static_cast<py::ssize_t>(kernel.size()));
            std::copy(kernel.begin(), kernel.end(), result.mutable_data());
            return result;
        },
        py::arg("size"), py::arg("sigma"));

    m.def(
        "gaussian_blur",
        [](const py::array& image, int kernel_x, int kernel_y, double sigma_x, double sigma_y) {
            return is_uint8(image)
                       ? blur_typed<std::uint8_t>(image, kernel_x, kernel_y, sigma_x, sigma_y)
                       : blur_typed<float>(image, kernel_x, kernel_y, sigma_x, sigma_y);
        },
        py::arg("image"), py::arg("kernel_x"), py::arg("kernel_y"), py::arg("sigma_x"),
        py::arg("sigma_y"));

    m.def(
        "colour_transfer",
        [](const py::array& foreground, const py::array& background, const py::array& mask,
           bool match_std) {
            require_blend_inputs(foreground, background, mask, "colour_transfer");
            py::array output = empty_like_shape(foreground, foreground.shape(3));
            const auto f = const_batch_of<float>(foreground);
            const auto b = const_batch_of<float>(background);
            const auto w = const_batch_of<float>(mask);
            const auto out = batch_of<float>(output);
            {
                py::gil_scoped_release release;
                fxr::colour_transfer(f, b, w, out, match_std);
            }
            return output;
        },
        py::arg("foreground"), py::arg("background"), py::arg("mask"), py::arg("match_std"));

    m.def(
        "blend",
        [](const py::array& foreground, const py::array& background, const py::array& mask) {
            require_blend_inputs(foreground, background, mask, "blend");
            py::array output = empty_like_shape(foreground, foreground.shape(3));
            const auto f = const_batch_of<float>(foreground);
            const auto b = const_batch_of<float>(background);
            const auto w = const_batch_of<float>(mask);
            const auto out = batch_of<float>(output);
            {
                py::gil_scoped_release release;
                fxr::blend(f, b, w, out);
            }
            return output;
        },
        py::arg("foreground"), py::arg("background"), py::arg("mask"));

    m.def(
        "face_xray",
        [](const py::array& mask) {
            require<float>(mask, "mask", 4);
            py::array output = empty_like_shape(mask, mask.shape(3));
            const auto w = const_batch_of<float>(mask);
            const auto out = batch_of<float>(output);
            {
                py::gil_scoped_release release;
                fxr::face_xray(w, out);
            }
            return output;
        },
        py::arg("mask"));

    m.def(
        "blend_with_xray",
        [](const py::array& foreground, const py::array& background, const py::array& mask,
           const std::string& colour) {
            require_blend_inputs(foreground, background, mask, "blend_with_xray");
            fxr::Colour mode;
            if (colour == "none")
                mode = fxr::Colour::none;
            else if (colour == "mean")
                mode = fxr::Colour::mean;
            else if (colour == "mean_std")
                mode = fxr::Colour::mean_std;
            else
                throw std::invalid_argument("colour must be 'none', 'mean' or 'mean_std', got '" +
                                            colour + "'");
            py::array image = empty_like_shape(foreground, foreground.shape(3));
            py::array xray = empty_like_shape(mask, 1);
            py::array softened = empty_like_shape(mask, 1);
            const auto f = const_batch_of<float>(foreground);
            const auto b = const_batch_of<float>(background);
            const auto w = const_batch_of<float>(mask);
            const auto out = batch_of<float>(image);
            const auto ray = batch_of<float>(xray);
            const auto soft = batch_of<float>(softened);
            {
                py::gil_scoped_release release;
                fxr::blend_with_xray(f, b, w, out, ray, soft, mode);
            }
            return py::make_tuple(image, xray, softened);
        },
        py::arg("foreground"), py::arg("background"), py::arg("mask"),
        py::arg("colour") = "none");

    m.def(
        "all_within",
        [](const py::array& array, float low, float high) {
            const auto* data = checked_float_data(array, "all_within");
            const auto size = array.size();
            py::gil_scoped_release release;
            return fxr::all_within(data, size, low, high);
        },
        py::arg("array"), py::arg("low"), py::arg("high"),
        "True when every value is finite and within [low, high].");

    m.def(
        "all_finite",
        [](const py::array& array) {
            const auto* data = checked_float_data(array, "all_finite");
            const auto size = array.size();
            py::gil_scoped_release release;
            return fxr::all_finite(data, size);
        },
        py::arg("array"), "True when no value is NaN or infinite.");

#ifdef FXR_WITH_CUDA
    register_cuda_ops(m);
#endif
}
