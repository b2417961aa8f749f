// Versions, threads, CUDA and seeding: what `lethe doctor` reports and tests switch on.
#include <torch/cuda.h>
#include <torch/version.h>
#include <ATen/Parallel.h>

#include "core.h"

#ifndef LETHE_LIBTORCH_DIR
#define LETHE_LIBTORCH_DIR "unknown"
#endif

namespace lethe {
namespace {

Napi::Value buildInfo(const Napi::CallbackInfo& info, Args&) {
  auto env = info.Env();
  auto out = Napi::Object::New(env);
  out.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
  out.Set("torchMajor", Napi::Number::New(env, TORCH_VERSION_MAJOR));
  out.Set("torchMinor", Napi::Number::New(env, TORCH_VERSION_MINOR));
  out.Set("libtorchDir", Napi::String::New(env, LETHE_LIBTORCH_DIR));
#ifdef LETHE_CUDA
  out.Set("builtWithCuda", Napi::Boolean::New(env, true));
#else
  out.Set("builtWithCuda", Napi::Boolean::New(env, false));
#endif
  out.Set("cxx11Abi", Napi::Boolean::New(env, _GLIBCXX_USE_CXX11_ABI != 0));
  out.Set("parallelInfo", Napi::String::New(env, at::get_parallel_info()));
  out.Set("config", Napi::String::New(env, at::show_config()));
  return out;
}

Napi::Value getNumThreads(const Napi::CallbackInfo& info, Args&) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value setNumThreads(const Napi::CallbackInfo& info, Args& a) {
  auto n = a.i64(0, "numThreads");
  TORCH_CHECK(n >= 1, "numThreads must be at least 1, got ", n);
  at::set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Value cudaIsAvailable(const Napi::CallbackInfo& info, Args&) {
  return Napi::Boolean::New(info.Env(), torch::cuda::is_available());
}

Napi::Value cudaDeviceCount(const Napi::CallbackInfo& info, Args&) {
  return Napi::Number::New(info.Env(), static_cast<double>(torch::cuda::device_count()));
}

Napi::Value cudaSynchronize(const Napi::CallbackInfo& info, Args&) {
  if (torch::cuda::is_available()) torch::cuda::synchronize();
  return info.Env().Undefined();
}

Napi::Value manualSeed(const Napi::CallbackInfo& info, Args& a) {
  auto seed = a.i64(0, "seed");
  at::manual_seed(static_cast<uint64_t>(seed));
  return info.Env().Undefined();
}

}  // namespace

void registerSystem(Napi::Env env, Napi::Object exports) {
  define(env, exports, "buildInfo", buildInfo, "");
  define(env, exports, "getNumThreads", getNumThreads, "");
  define(env, exports, "setNumThreads", setNumThreads, "i");
  define(env, exports, "cudaIsAvailable", cudaIsAvailable, "");
  define(env, exports, "cudaDeviceCount", cudaDeviceCount, "");
  define(env, exports, "cudaSynchronize", cudaSynchronize, "");
  define(env, exports, "manualSeed", manualSeed, "i");
}

}  // namespace lethe
