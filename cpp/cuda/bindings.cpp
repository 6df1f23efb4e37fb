// Python bindings of the CUDA ops (private: facexray_forensics.ops.cuda is
// the public surface). Tensors arrive as DLPack capsules, or as objects with
// __dlpack__ such as torch CUDA tensors, so the extension never links
// against a framework. Kernels run on the stream the caller names (torch's
// current stream) and write into outputs the caller allocated.
// CMakeLists.txt compiles this file only in a CUDA build (FXR_WITH_CUDA).

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cuda_runtime_api.h>

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "kernels.cuh"
#include "ops.hpp"

namespace py = pybind11;

namespace {

// The DLPack ABI (data-apis.org/array-api, DLPack 0.8), the part we read.
struct DLDevice {
    int32_t device_type;
    int32_t device_id;
};
struct DLDataType {
    uint8_t code;
    uint8_t bits;
    uint16_t lanes;
};
struct DLTensor {
    void* data;
    DLDevice device;
    int32_t ndim;
    DLDataType dtype;
    int64_t* shape;
    int64_t* strides;
    uint64_t byte_offset;
};
struct DLManagedTensor {
    DLTensor dl_tensor;
    void* manager_ctx;
    void (*deleter)(DLManagedTensor*);
};
constexpr int32_t kDLCUDA = 2;
constexpr uint8_t kDLInt = 0;
constexpr uint8_t kDLFloat = 2;

// A borrowed view of a CUDA tensor. The capsule is kept alive (and left
// unconsumed, so its own destructor releases the producer's memory) for as
// long as the view exists, which is the duration of one call.
struct DeviceTensor {
    py::object capsule;
    std::string name;
    void* data = nullptr;
    std::vector<int64_t> shape;

    int64_t dimension(size_t axis) const { return shape[axis]; }
    int64_t size() const {
        int64_t total = 1;
        for (int64_t extent : shape) total *= extent;
        return total;
    }
    std::string shape_text() const {
        std::string text = "(";
        for (size_t axis = 0; axis < shape.size(); ++axis) {
            text += (axis ? ", " : "") + std::to_string(shape[axis]);
        }
        return text + (shape.size() == 1 ? ",)" : ")");
    }
};

py::object to_capsule(const py::object& tensor, const std::string& name) {
    if (PyCapsule_CheckExact(tensor.ptr())) return tensor;
    if (!py::hasattr(tensor, "__dlpack__")) {
        throw py::type_error(name + ": expected a CUDA tensor (DLPack capsule or an object with "
                                    "__dlpack__), got " +
                             std::string(py::str(py::type::of(tensor).attr("__name__"))));
    }
    if (py::hasattr(tensor, "__dlpack_device__")) {
        const auto device = tensor.attr("__dlpack_device__")().cast<std::pair<int, int>>();
        if (device.first != kDLCUDA) {
            throw py::value_error(name + ": expected a tensor on a CUDA device, got DLPack device type " +
                                  std::to_string(device.first));
        }
    }
    // stream=-1: no cross-stream synchronisation; the caller passes the stream
    // its tensors were produced on and we run on that same stream.
    return tensor.attr("__dlpack__")(py::arg("stream") = -1);
}

DeviceTensor view(const py::object& tensor, const std::string& name, uint8_t dtype_code,
                  const char* dtype_name) {
    DeviceTensor result;
    result.name = name;
    result.capsule = to_capsule(tensor, name);
    if (std::string(PyCapsule_GetName(result.capsule.ptr()) ? PyCapsule_GetName(result.capsule.ptr())
                                                            : "") != "dltensor") {
        throw py::value_error(name + ": the DLPack capsule was already consumed or is versioned; "
                                     "pass a fresh unversioned capsule or the tensor itself");
    }
    auto* managed =
        static_cast<DLManagedTensor*>(PyCapsule_GetPointer(result.capsule.ptr(), "dltensor"));
    if (managed == nullptr) throw py::error_already_set();
    const DLTensor& tensor_info = managed->dl_tensor;
    if (tensor_info.device.device_type != kDLCUDA) {
        throw py::value_error(name + ": expected a tensor on a CUDA device, got DLPack device type " +
                              std::to_string(tensor_info.device.device_type));
    }
    int current = 0;
    const cudaError_t status = cudaGetDevice(&current);
    if (status != cudaSuccess) {
        throw std::runtime_error(std::string("cudaGetDevice: ") + cudaGetErrorString(status));
    }
    if (tensor_info.device.device_id != current) {
        throw py::value_error(name + ": tensor is on cuda:" +
                              std::to_string(tensor_info.device.device_id) +
                              " but the current device is cuda:" + std::to_string(current));
    }
    if (tensor_info.dtype.code != dtype_code || tensor_info.dtype.bits != 32 ||
        tensor_info.dtype.lanes != 1) {
        throw py::type_error(name + ": expected " + dtype_name + " data");
    }
    result.shape.assign(tensor_info.shape, tensor_info.shape + tensor_info.ndim);
    if (tensor_info.strides != nullptr) {
        int64_t expected = 1;
        for (int axis = tensor_info.ndim - 1; axis >= 0; --axis) {
            if (tensor_info.shape[axis] != 1 && tensor_info.strides[axis] != expected) {
                throw py::value_error(name + ": tensor must be C-contiguous (call .contiguous())");
            }
            expected *= tensor_info.shape[axis];
        }
    }
    result.data = static_cast<char*>(tensor_info.data) + tensor_info.byte_offset;
    return result;
}

DeviceTensor floats(const py::object& tensor, const std::string& name) {
    return view(tensor, name, kDLFloat, "float32");
}

// An N×H×W×C image batch.
fxr::cuda::Shape batch_shape(const DeviceTensor& tensor) {
    if (tensor.shape.size() != 4) {
        throw py::value_error(tensor.name + ": expected an N×H×W×C batch, got shape " +
                              tensor.shape_text());
    }
    return {tensor.shape[0], tensor.shape[1], tensor.shape[2], tensor.shape[3]};
}

void require_shape(const DeviceTensor& tensor, const std::vector<int64_t>& shape) {
    if (tensor.shape != shape) {
        DeviceTensor expected;
        expected.shape = shape;
        throw py::value_error(tensor.name + ": expected shape " + expected.shape_text() + ", got " +
                              tensor.shape_text());
    }
}

// An N×H×W×1 mask that goes with an image batch.
void require_mask(const DeviceTensor& mask, const fxr::cuda::Shape& shape) {
    require_shape(mask, {shape.batch, shape.height, shape.width, 1});
}

void require_distinct(const DeviceTensor& output, std::initializer_list<const DeviceTensor*> inputs) {
    for (const DeviceTensor* input : inputs) {
        if (input->data == output.data && output.size() > 0) {
            throw py::value_error(output.name + " must not share memory with " + input->name);
        }
    }
}

cudaStream_t as_stream(std::uintptr_t stream) { return reinterpret_cast<cudaStream_t>(stream); }

void warp(const py::object& image_object, const py::object& output_object,
          const py::object& source_object, const py::object& destination_object,
          const py::object& triangles_object, float fill, std::uintptr_t stream) {
    const auto image = floats(image_object, "image");
    const auto output = floats(output_object, "output");
    const auto source = floats(source_object, "source_points");
    const auto destination = floats(destination_object, "destination_points");
    const auto triangles = view(triangles_object, "triangles", kDLInt, "int32");
    const auto shape = batch_shape(image);
    require_shape(output, image.shape);
    require_distinct(output, {&image});
    const bool points_per_sample = source.shape.size() == 3;
    if ((source.shape.size() != 2 && source.shape.size() != 3) || source.shape.back() != 2 ||
        (points_per_sample && source.shape[0] != shape.batch)) {
        throw py::value_error("source_points: expected P×2 or N×P×2 with N = " +
                              std::to_string(shape.batch) + ", got " + source.shape_text());
    }
    require_shape(destination, source.shape);
    const int64_t point_count = source.shape[source.shape.size() - 2];
    const bool triangles_per_sample = triangles.shape.size() == 3;
    if ((triangles.shape.size() != 2 && triangles.shape.size() != 3) ||
        triangles.shape.back() != 3 || (triangles_per_sample && triangles.shape[0] != shape.batch)) {
        throw py::value_error("triangles: expected T×3 or N×T×3 int32 with N = " +
                              std::to_string(shape.batch) + ", got " + triangles.shape_text());
    }
    const int64_t triangle_count = triangles.shape[triangles.shape.size() - 2];
    py::gil_scoped_release release;
    fxr::cuda::warp_piecewise_affine(
        static_cast<const float*>(image.data), static_cast<float*>(output.data), shape,
        static_cast<const float*>(source.data), static_cast<const float*>(destination.data),
        point_count, points_per_sample, static_cast<const int32_t*>(triangles.data),
        triangle_count, triangles_per_sample, fill, as_stream(stream));
}

void blur(const py::object& image_object, const py::object& output_object, int kernel_x,
          int kernel_y, double sigma_x, double sigma_y, std::uintptr_t stream) {
    const auto image = floats(image_object, "image");
    const auto output = floats(output_object, "output");
    const auto shape = batch_shape(image);
    require_shape(output, image.shape);
    require_distinct(output, {&image});
    if (kernel_x < 1 || kernel_y < 1 || kernel_x % 2 == 0 || kernel_y % 2 == 0) {
        throw py::value_error("kernel sizes must be odd and positive, got (" +
                              std::to_string(kernel_x) + ", " + std::to_string(kernel_y) + ")");
    }
    // The very weights the CPU op uses, so both devices filter alike.
    const std::vector<float> weights_x = fxr::gaussian_kernel(kernel_x, sigma_x);
    const std::vector<float> weights_y = fxr::gaussian_kernel(kernel_y, sigma_y);
    py::gil_scoped_release release;
    fxr::cuda::gaussian_blur(static_cast<const float*>(image.data),
                             static_cast<float*>(output.data), shape, weights_x.data(),
                             static_cast<int64_t>(weights_x.size()), weights_y.data(),
                             static_cast<int64_t>(weights_y.size()), as_stream(stream));
}

void blur_per_sample(const py::object& image_object, const py::object& output_object,
                     const py::object& weights_x_object, const py::object& weights_y_object,
                     std::uintptr_t stream) {
    const auto image = floats(image_object, "image");
    const auto output = floats(output_object, "output");
    const auto weights_x = floats(weights_x_object, "weights_x");
    const auto weights_y = floats(weights_y_object, "weights_y");
    const auto shape = batch_shape(image);
    require_shape(output, image.shape);
    require_distinct(output, {&image});
    for (const DeviceTensor* weights : {&weights_x, &weights_y}) {
        if (weights->shape.size() != 2 || weights->shape[0] != shape.batch ||
            weights->shape[1] % 2 == 0 || weights->shape[1] > fxr::cuda::kMaxSampleKernel) {
            throw py::value_error(weights->name + ": expected N×K with N = " +
                                  std::to_string(shape.batch) + " and K odd, at most " +
                                  std::to_string(fxr::cuda::kMaxSampleKernel) + ", got " +
                                  weights->shape_text());
        }
    }
    py::gil_scoped_release release;
    fxr::cuda::gaussian_blur_per_sample(
        static_cast<const float*>(image.data), static_cast<float*>(output.data), shape,
        static_cast<const float*>(weights_x.data), weights_x.shape[1],
        static_cast<const float*>(weights_y.data), weights_y.shape[1], as_stream(stream));
}

// The tensors of an op that reads a foreground, a background and a mask and
// writes one image of the foreground's shape, checked against each other.
struct ImageOp {
    DeviceTensor foreground, background, mask, output;
    fxr::cuda::Shape shape;
};

ImageOp image_op(const py::object& foreground_object, const py::object& background_object,
                 const py::object& mask_object, const py::object& output_object) {
    ImageOp op{floats(foreground_object, "foreground"), floats(background_object, "background"),
               floats(mask_object, "mask"), floats(output_object, "output"), {}};
    op.shape = batch_shape(op.foreground);
    require_shape(op.background, op.foreground.shape);
    require_mask(op.mask, op.shape);
    require_shape(op.output, op.foreground.shape);
    require_distinct(op.output, {&op.foreground, &op.background, &op.mask});
    return op;
}

void colour(const py::object& foreground_object, const py::object& background_object,
            const py::object& mask_object, const py::object& output_object,
            const py::object& match_std_object, std::uintptr_t stream) {
    const auto [foreground, background, mask, output, shape] =
        image_op(foreground_object, background_object, mask_object, output_object);
    // match_std: one bool for the batch, or an N int32 CUDA tensor (nonzero = match).
    bool match_std = false;
    DeviceTensor per_sample;
    if (py::isinstance<py::bool_>(match_std_object)) {
        match_std = match_std_object.cast<bool>();
    } else {
        per_sample = view(match_std_object, "match_std", kDLInt, "int32");
        require_shape(per_sample, {shape.batch});
    }
    py::gil_scoped_release release;
    fxr::cuda::colour_transfer(
        static_cast<const float*>(foreground.data), static_cast<const float*>(background.data),
        static_cast<const float*>(mask.data), static_cast<float*>(output.data), shape, match_std,
        static_cast<const int32_t*>(per_sample.data), as_stream(stream));
}

void blend(const py::object& foreground_object, const py::object& background_object,
           const py::object& mask_object, const py::object& output_object, std::uintptr_t stream) {
    const auto [foreground, background, mask, output, shape] =
        image_op(foreground_object, background_object, mask_object, output_object);
    py::gil_scoped_release release;
    fxr::cuda::blend(static_cast<const float*>(foreground.data),
                     static_cast<const float*>(background.data),
                     static_cast<const float*>(mask.data), static_cast<float*>(output.data), shape,
                     as_stream(stream));
}

void xray(const py::object& mask_object, const py::object& output_object, std::uintptr_t stream) {
    const auto mask = floats(mask_object, "mask");
    const auto output = floats(output_object, "output");
    require_shape(output, mask.shape);
    require_distinct(output, {&mask});
    py::gil_scoped_release release;
    fxr::cuda::face_xray(static_cast<const float*>(mask.data), static_cast<float*>(output.data),
                         mask.size(), as_stream(stream));
}

void blend_xray(const py::object& foreground_object, const py::object& background_object,
                const py::object& mask_object, const py::object& image_object,
                const py::object& xray_object, const py::object& softened_object,
                std::uintptr_t stream) {
    const auto foreground = floats(foreground_object, "foreground");
    const auto background = floats(background_object, "background");
    const auto mask = floats(mask_object, "mask");
    const auto image = floats(image_object, "image");
    const auto xray_view = floats(xray_object, "xray");
    const auto softened = floats(softened_object, "softened");
    const auto shape = batch_shape(foreground);
    require_shape(background, foreground.shape);
    require_mask(mask, shape);
    require_shape(image, foreground.shape);
    require_mask(xray_view, shape);
    require_mask(softened, shape);
    for (const DeviceTensor* output : {&image, &xray_view, &softened}) {
        require_distinct(*output, {&foreground, &background, &mask});
    }
    require_distinct(image, {&xray_view, &softened});
    require_distinct(xray_view, {&softened});
    py::gil_scoped_release release;
    fxr::cuda::blend_with_xray(
        static_cast<const float*>(foreground.data), static_cast<const float*>(background.data),
        static_cast<const float*>(mask.data), static_cast<float*>(image.data),
        static_cast<float*>(xray_view.data), static_cast<float*>(softened.data), shape,
        as_stream(stream));
}

}  // namespace

void register_cuda_ops(py::module_& module) {
    module.attr("cuda_max_triangles") = fxr::cuda::kMaxTriangles;
    module.def("cuda_warp_piecewise_affine", &warp, py::arg("image"), py::arg("output"),
               py::arg("source_points"), py::arg("destination_points"), py::arg("triangles"),
               py::arg("fill"), py::arg("stream"),
               "Piecewise-affine warp of an N×H×W×C float32 CUDA batch into `output`.");
    module.def("cuda_gaussian_blur", &blur, py::arg("image"), py::arg("output"),
               py::arg("kernel_x"), py::arg("kernel_y"), py::arg("sigma_x"), py::arg("sigma_y"),
               py::arg("stream"), "Separable Gaussian blur (BORDER_REFLECT_101) into `output`.");
    module.def("cuda_gaussian_blur_per_sample", &blur_per_sample, py::arg("image"),
               py::arg("output"), py::arg("weights_x"), py::arg("weights_y"), py::arg("stream"),
               "Separable blur with one zero-padded kernel per sample (N×K weight tables).");
    module.attr("cuda_max_sample_kernel") = fxr::cuda::kMaxSampleKernel;
    module.def("cuda_colour_transfer", &colour, py::arg("foreground"), py::arg("background"),
               py::arg("mask"), py::arg("output"), py::arg("match_std"), py::arg("stream"),
               "Masked per-channel colour transfer into `output`; match_std is a bool or an N "
               "int32 CUDA tensor of per-sample flags.");
    module.def("cuda_blend", &blend, py::arg("foreground"), py::arg("background"),
               py::arg("mask"), py::arg("output"), py::arg("stream"), "Eq. 1 into `output`.");
    module.def("cuda_face_xray", &xray, py::arg("mask"), py::arg("output"), py::arg("stream"),
               "Eq. 2 into `output`.");
    module.def("cuda_blend_with_xray", &blend_xray, py::arg("foreground"),
               py::arg("background"), py::arg("mask"), py::arg("image"), py::arg("xray"),
               py::arg("softened"), py::arg("stream"),
               "3×3 softening, Eq. 1 and Eq. 2 fused, into `image`, `xray` and `softened`.");
}
