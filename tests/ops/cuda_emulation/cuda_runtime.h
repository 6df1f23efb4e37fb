// A CPU stand-in for the few CUDA runtime pieces the kernels in cpp/cuda use, so that
// test_cuda_emulation.py can run those kernels here, where there is no GPU. Every CUDA
// thread of a block is an std::thread; blocks run one after another, so __shared__ can be
// `static`; __syncthreads is a barrier of the block. "Device memory" is host memory.
#pragma once

#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
using cudaStream_t = struct CUstream_st*;
enum cudaError_t { cudaSuccess = 0 };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
enum cudaMemcpyKind { cudaMemcpyHostToDevice = 1 };

inline thread_local dim3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;
inline std::barrier<>* fxr_block_barrier = nullptr;
inline std::vector<unsigned char> fxr_dynamic_shared_memory;
inline std::vector<double> fxr_shuffle_slots;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__
#define __shared__ static
#define __launch_bounds__(...)

inline void __syncthreads() { fxr_block_barrier->arrive_and_wait(); }

// Every caller in the kernels shuffles with all threads of the block in step.
inline double __shfl_down_sync(unsigned, double value, int offset) {
    const unsigned thread = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    fxr_shuffle_slots[thread] = value;
    __syncthreads();
    const unsigned lane = thread % 32;
    const double result = lane + offset < 32 ? fxr_shuffle_slots[thread + offset] : value;
    __syncthreads();
    return result;
}

using std::floor;
using std::fmax;
using std::fmaxf;
using std::fmin;
using std::fminf;
using std::min;
using std::sqrt;

inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline const char* cudaGetErrorString(cudaError_t) { return "no error"; }
inline cudaError_t cudaGetDevice(int* device) { *device = 0; return cudaSuccess; }
template <typename Kernel>
cudaError_t cudaFuncSetAttribute(Kernel, cudaFuncAttribute, int) { return cudaSuccess; }
inline cudaError_t cudaMallocAsync(void** pointer, size_t bytes, cudaStream_t) {
    *pointer = std::malloc(bytes);
    return cudaSuccess;
}
inline cudaError_t cudaFreeAsync(void* pointer, cudaStream_t) { std::free(pointer); return cudaSuccess; }
inline cudaError_t cudaMemcpyAsync(void* target, const void* source, size_t bytes, cudaMemcpyKind,
                                   cudaStream_t) {
    std::memcpy(target, source, bytes);
    return cudaSuccess;
}

// kernel<<<grid, block, shared, stream>>>(arguments...) is rewritten to this call.
template <typename Kernel, typename... Arguments>
void fxr_launch(Kernel kernel, dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t,
                Arguments... arguments) {
    gridDim = grid;
    blockDim = block;
    const unsigned threads = block.x * block.y * block.z;
    fxr_dynamic_shared_memory.assign(shared_bytes + 16, 0xFF);  // poisoned, as on a GPU
    fxr_shuffle_slots.assign(threads, 0.0);
    for (unsigned bz = 0; bz < grid.z; ++bz)
        for (unsigned by = 0; by < grid.y; ++by)
            for (unsigned bx = 0; bx < grid.x; ++bx) {
                std::barrier<> barrier(threads);
                fxr_block_barrier = &barrier;
                std::vector<std::thread> pool;
                for (unsigned tz = 0; tz < block.z; ++tz)
                    for (unsigned ty = 0; ty < block.y; ++ty)
                        for (unsigned tx = 0; tx < block.x; ++tx)
                            pool.emplace_back([=, &barrier] {
                                blockIdx = dim3(bx, by, bz);
                                threadIdx = dim3(tx, ty, tz);
                                kernel(arguments...);
                                barrier.arrive_and_drop();  // a finished thread leaves the block's barriers
                            });
                for (auto& thread : pool) thread.join();
            }
}
