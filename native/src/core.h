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

struct Holder;

// Per JS environment (main thread, each worker): the live tensors of that environment.
// Never freed: a finalizer of a late-collected tensor may still run after environment teardown.
struct InstanceData {
  std::unordered_set<Holder*> live;
};

// What a JS tensor handle (a napi External) points at. dispose() resets `t`; the finalizer
// deletes the holder itself when V8 collects the handle.
struct Holder {
  at::Tensor t;
  InstanceData* owner;
};

InstanceData* instance(Napi::Env env);
Napi::Value wrap(Napi::Env env, at::Tensor t);
Holder* holderOf(const Napi::Value& v);  // nullptr when v is not a tensor handle
std::string describe(const at::Tensor& t);
std::string describeValue(const Napi::Value& v);
std::string describeCall(const char* op, const Napi::CallbackInfo& info);
std::string dtypeName(at::ScalarType t);
at::ScalarType parseDtype(const std::string& name);  // throws std::invalid_argument

// Reads arguments of `op`; every failure throws a JS TypeError naming the op, the argument,
// what was expected and what came.
class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* op) : info_(info), op_(op) {}
  at::Tensor tensor(size_t i, const char* name) const;
  c10::optional<at::Tensor> optTensor(size_t i, const char* name) const;
  at::Tensor tensorOrScalar(size_t i, const char* name) const;
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

 private:
  const Napi::Value at(size_t i) const { return i < info_.Length() ? info_[i] : info_.Env().Undefined(); }
  const Napi::CallbackInfo& info_;
  const char* op_;
};

// The one guard: no C++ exception reaches V8 as anything but a JS Error that names the op and
// describes its arguments (shapes, dtypes).
template <typename F>
Napi::Value guard(const char* op, const Napi::CallbackInfo& info, F&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), describeCall(op, info) + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), describeCall(op, info) + ": " + e.what());
  } catch (...) {
    throw Napi::Error::New(info.Env(), describeCall(op, info) + ": unknown native error");
  }
}

// Registers `fn` as exports[name] behind the guard.
void define(Napi::Env env, Napi::Object exports, const char* name,
            Napi::Value (*fn)(const Napi::CallbackInfo&, Args&));

void registerGeneratedOps(Napi::Env env, Napi::Object exports);
void registerTensorOps(Napi::Env env, Napi::Object exports);
void registerAutograd(Napi::Env env, Napi::Object exports);
void registerOptim(Napi::Env env, Napi::Object exports);
void registerSafetensors(Napi::Env env, Napi::Object exports);
void registerSystem(Napi::Env env, Napi::Object exports);

}  // namespace lethe
