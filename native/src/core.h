// The shim's shared pieces: the tensor handle, argument readers that name what was expected,
// and the one exception guard that every entry point goes through (tch-rs's PROTECT).
#pragma once

#include <napi.h>
#include <ATen/ATen.h>

#include <optional>
#include <string>
#include <tuple>
#include <unordered_set>
#include <vector>

namespace lethe {

// Tensor handles are plain JS numbers: slot index + generation, so that creating and freeing a
// result costs no V8 object and no GC finalizer (the JS side keeps a lazily registered
// FinalizationRegistry as the backstop). A stale handle (its slot freed or reused) fails the
// generation check and reads as "disposed".
struct Slot {
  at::Tensor t;
  uint32_t gen = 1;
};

// Per JS environment (main thread, each worker): its tensor slots.
struct InstanceData {
  std::vector<Slot> slots;
  std::vector<uint32_t> freeSlots;
  size_t live = 0;
};

constexpr double kSlotSpan = 16777216.0;  // 2^24 slots; handle = gen * 2^24 + index

InstanceData* instance(Napi::Env env);
Napi::Value wrap(Napi::Env env, at::Tensor t);
// The slot a handle names, or nullptr when the value is no handle of a live tensor.
Slot* lookup(InstanceData* data, const Napi::Value& v);
// Frees the handle's slot; false when it was not live.
bool release(InstanceData* data, const Napi::Value& v);
std::string describe(const at::Tensor& t);
// Argument kinds (comma-separated, as in the op table) tell numbers that are tensor handles
// from plain numbers; a TS argument is a tensor when its bit is set in the mask argument.
std::string describeCall(const char* op, const Napi::CallbackInfo& info, const char* kinds);
std::string dtypeName(at::ScalarType t);
at::ScalarType parseDtype(const std::string& name);  // throws std::invalid_argument

// Reads arguments of `op`; every failure throws a JS TypeError naming the op, the argument,
// what was expected and what came.
class Args {
 public:
  // kinds: the op table's argument kinds; maskIndex: where the TS-argument bit mask is (-1: none).
  Args(const Napi::CallbackInfo& info, const char* op, const char* kinds = "", int maskIndex = -1);
  at::Tensor tensor(size_t i, const char* name) const;
  c10::optional<at::Tensor> optTensor(size_t i, const char* name) const;
  // `bit`: this argument's bit in the TS mask (set: a tensor handle; clear: a JS number).
  at::Tensor tensorOrScalar(size_t i, const char* name, int bit) const;
  std::vector<at::Tensor> tensorList(size_t i, const char* name) const;
  at::Scalar scalar(size_t i, const char* name) const;
  c10::optional<at::Scalar> optScalar(size_t i, const char* name) const;
  double f64(size_t i, const char* name) const;
  c10::optional<double> optF64(size_t i, const char* name) const;
  int64_t i64(size_t i, const char* name) const;
  c10::optional<int64_t> optI64(size_t i, const char* name) const;
  bool boolean(size_t i, const char* name) const;
  std::vector<int64_t> ints(size_t i, const char* name) const;
  c10::optional<std::vector<int64_t>> optInts(size_t i, const char* name) const;
  std::string string(size_t i, const char* name) const;
  c10::optional<std::string> optString(size_t i, const char* name) const;
  c10::optional<at::ScalarType> optDtype(size_t i, const char* name) const;
  c10::optional<c10::Device> optDevice(size_t i, const char* name) const;
  bool tsIsTensor(int bit) const { return (tsMask_ >> bit) & 1u; }
  bool isNumber(size_t i) const { return i < info_.Length() && info_[i].IsNumber(); }
  bool isNullish(size_t i) const { return i >= info_.Length() || info_[i].IsNull() || info_[i].IsUndefined(); }

  at::TensorOptions options(c10::optional<at::ScalarType> dtype, c10::optional<c10::Device> device) const;
  // Like PyTorch's arange: integer arguments give int64 unless a dtype is asked for.
  at::TensorOptions options(c10::optional<at::ScalarType> dtype, c10::optional<c10::Device> device,
                            const at::Scalar& s1, const at::Scalar& s2, const at::Scalar& s3) const;
  int64_t reduction(const std::string& r) const;

  Napi::Value result(at::Tensor t) const { return wrap(info_.Env(), std::move(t)); }
  Napi::Value result(const std::tuple<at::Tensor, at::Tensor>& t) const;
  Napi::Value result(const std::vector<at::Tensor>& ts) const;
  Napi::Value result(bool b) const { return Napi::Boolean::New(info_.Env(), b); }
  Napi::Value result(double d) const { return Napi::Number::New(info_.Env(), d); }

  [[noreturn]] void fail(size_t i, const char* name, const char* expected) const;
  const Napi::CallbackInfo& info() const { return info_; }
  InstanceData* data() const { return data_; }

 private:
  const Napi::Value at(size_t i) const { return i < info_.Length() ? info_[i] : info_.Env().Undefined(); }
  const Napi::CallbackInfo& info_;
  const char* op_;
  const char* kinds_;
  InstanceData* data_;
  uint32_t tsMask_ = 0;
};

// The one guard: no C++ exception reaches V8 as anything but a JS Error that names the op and
// describes its arguments (shapes, dtypes).
template <typename F>
Napi::Value guard(const char* op, const char* kinds, const Napi::CallbackInfo& info, F&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), describeCall(op, info, kinds) + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), describeCall(op, info, kinds) + ": " + e.what());
  } catch (...) {
    throw Napi::Error::New(info.Env(), describeCall(op, info, kinds) + ": unknown native error");
  }
}

// Registers `fn` as exports[name] behind the guard.
void define(Napi::Env env, Napi::Object exports, const char* name,
            Napi::Value (*fn)(const Napi::CallbackInfo&, Args&), const char* kinds);

void registerGeneratedOps(Napi::Env env, Napi::Object exports);
void registerTensorOps(Napi::Env env, Napi::Object exports);
void registerAutograd(Napi::Env env, Napi::Object exports);
void registerOptim(Napi::Env env, Napi::Object exports);
void registerSafetensors(Napi::Env env, Napi::Object exports);
void registerSystem(Napi::Env env, Napi::Object exports);
void registerDistributed(Napi::Env env, Napi::Object exports);

}  // namespace lethe
