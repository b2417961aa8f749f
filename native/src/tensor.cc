// Tensor life cycle and data exchange with JS: creation from typed arrays, reading back,
// metadata, dtype/device moves, dispose and the live-tensor accounting.
#include <cstring>
#include <unordered_map>

#include <torch/csrc/autograd/function.h>

#include "core.h"

namespace lethe {
namespace {

Napi::Value fromData(const Napi::CallbackInfo& info, Args& a) {
  // (typedArray, srcDtype, shape, dtype|null, device|null, requiresGrad)
  if (!info[0].IsTypedArray()) a.fail(0, "data", "a typed array");
  auto arr = info[0].As<Napi::TypedArray>();
  auto src = parseDtype(a.string(1, "srcDtype"));
  auto shape = a.ints(2, "shape");
  int64_t numel = 1;
  for (auto d : shape) {
    if (d < 0) a.fail(2, "shape", "an array of non-negative integers");
    numel *= d;
  }
  size_t bytes = static_cast<size_t>(numel) * c10::elementSize(src);
  if (bytes != arr.ByteLength())
    throw Napi::Error::New(info.Env(), "tensor: data holds " + std::to_string(arr.ByteLength()) + " bytes but shape " +
                                           c10::str(at::IntArrayRef(shape)) + " of " + dtypeName(src) + " needs " +
                                           std::to_string(bytes));
  auto* ptr = static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
  auto t = at::empty(shape, at::TensorOptions().dtype(src));
  if (bytes) std::memcpy(t.data_ptr(), ptr, bytes);
  auto dtype = a.optDtype(3, "dtype");
  auto device = a.optDevice(4, "device");
  if (dtype && *dtype != src) t = t.to(*dtype);
  if (device && *device != t.device()) t = t.to(*device);
  if (a.boolean(5, "requiresGrad")) t.set_requires_grad(true);
  return wrap(info.Env(), t);
}

// Contiguous CPU bytes as an ArrayBuffer; float16/bfloat16 come back as float32, bool as uint8.
Napi::Value toBuffer(const Napi::CallbackInfo& info, Args& a) {
  auto t = a.tensor(0, "input").detach();
  if (t.scalar_type() == at::kHalf || t.scalar_type() == at::kBFloat16) t = t.to(at::kFloat);
  t = t.to(at::kCPU).contiguous();
  size_t bytes = t.numel() * t.element_size();
  auto buf = Napi::ArrayBuffer::New(info.Env(), bytes);
  if (bytes) std::memcpy(buf.Data(), t.data_ptr(), bytes);
  return buf;
}

Napi::Value shape(const Napi::CallbackInfo& info, Args& a) {
  auto t = a.tensor(0, "input");
  auto arr = Napi::Array::New(info.Env(), t.dim());
  for (int64_t d = 0; d < t.dim(); d++) arr.Set(static_cast<uint32_t>(d), Napi::Number::New(info.Env(), t.size(d)));
  return arr;
}

Napi::Value dtype(const Napi::CallbackInfo& info, Args& a) {
  return Napi::String::New(info.Env(), dtypeName(a.tensor(0, "input").scalar_type()));
}

Napi::Value device(const Napi::CallbackInfo& info, Args& a) {
  return Napi::String::New(info.Env(), a.tensor(0, "input").device().str());
}

Napi::Value numel(const Napi::CallbackInfo& info, Args& a) {
  return Napi::Number::New(info.Env(), static_cast<double>(a.tensor(0, "input").numel()));
}

Napi::Value item(const Napi::CallbackInfo& info, Args& a) {
  auto t = a.tensor(0, "input");
  TORCH_CHECK(t.numel() == 1, "item() needs a tensor with one element, got ", t.sizes());
  auto s = t.item();
  if (s.isBoolean()) return Napi::Boolean::New(info.Env(), s.toBool());
  if (s.isIntegral(false)) return Napi::Number::New(info.Env(), static_cast<double>(s.toLong()));
  return Napi::Number::New(info.Env(), s.toDouble());
}

Napi::Value to(const Napi::CallbackInfo& info, Args& a) {
  // (input, dtype|null, device|null, copy)
  auto t = a.tensor(0, "input");
  auto dt = a.optDtype(1, "dtype");
  auto dev = a.optDevice(2, "device");
  bool copy = a.boolean(3, "copy");
  return wrap(info.Env(), t.to(dev ? *dev : t.device(), dt ? *dt : t.scalar_type(), /*non_blocking=*/false, copy));
}

Napi::Value dispose(const Napi::CallbackInfo& info, Args& a) {
  release(a.data(), info[0]);  // idempotent: a stale or freed handle is a no-op
  return info.Env().Undefined();
}

Napi::Value isDisposed(const Napi::CallbackInfo& info, Args& a) {
  return Napi::Boolean::New(info.Env(), lookup(a.data(), info[0]) == nullptr);
}

Napi::Value liveCount(const Napi::CallbackInfo& info, Args& a) {
  return Napi::Number::New(info.Env(), static_cast<double>(a.data()->live));
}

// {tensors, bytes}: bytes counts each storage once, however many tensors view it.
Napi::Value memory(const Napi::CallbackInfo& info, Args& a) {
  auto* data = a.data();
  std::unordered_map<const void*, size_t> storages;
  for (auto& slot : data->slots) {
    if (!slot.t.defined() || !slot.t.has_storage()) continue;
    auto* impl = slot.t.storage().unsafeGetStorageImpl();
    storages[impl] = impl->nbytes();
  }
  size_t bytes = 0;
  for (auto& kv : storages) bytes += kv.second;
  auto out = Napi::Object::New(info.Env());
  out.Set("tensors", Napi::Number::New(info.Env(), static_cast<double>(data->live)));
  out.Set("bytes", Napi::Number::New(info.Env(), static_cast<double>(bytes)));
  return out;
}

Napi::Value requiresGrad(const Napi::CallbackInfo& info, Args& a) {
  return Napi::Boolean::New(info.Env(), a.tensor(0, "input").requires_grad());
}

Napi::Value setRequiresGrad(const Napi::CallbackInfo& info, Args& a) {
  auto t = a.tensor(0, "input");
  t.set_requires_grad(a.boolean(1, "requiresGrad"));
  return info.Env().Undefined();
}

Napi::Value grad(const Napi::CallbackInfo& info, Args& a) {
  auto g = a.tensor(0, "input").grad();
  return g.defined() ? wrap(info.Env(), g) : info.Env().Null();
}

Napi::Value hasGrad(const Napi::CallbackInfo& info, Args& a) {
  return Napi::Boolean::New(info.Env(), a.tensor(0, "input").grad().defined());
}

Napi::Value setGrad(const Napi::CallbackInfo& info, Args& a) {
  auto t = a.tensor(0, "input");
  auto g = a.optTensor(1, "grad");
  t.mutable_grad() = g ? *g : at::Tensor();
  return info.Env().Undefined();
}

Napi::Value isLeaf(const Napi::CallbackInfo& info, Args& a) {
  return Napi::Boolean::New(info.Env(), a.tensor(0, "input").is_leaf());
}

Napi::Value gradFnName(const Napi::CallbackInfo& info, Args& a) {
  auto fn = a.tensor(0, "input").grad_fn();
  return fn ? Napi::String::New(info.Env(), fn->name()) : info.Env().Null();
}

Napi::Value retainGrad(const Napi::CallbackInfo& info, Args& a) {
  a.tensor(0, "input").retain_grad();
  return info.Env().Undefined();
}

Napi::Value isContiguous(const Napi::CallbackInfo& info, Args& a) {
  return Napi::Boolean::New(info.Env(), a.tensor(0, "input").is_contiguous());
}

}  // namespace

void registerTensorOps(Napi::Env env, Napi::Object exports) {
  define(env, exports, "fromData", fromData, "raw,str,L,dtype?,device?,b");
  define(env, exports, "toBuffer", toBuffer, "T");
  define(env, exports, "shape", shape, "T");
  define(env, exports, "dtype", dtype, "T");
  define(env, exports, "device", device, "T");
  define(env, exports, "numel", numel, "T");
  define(env, exports, "item", item, "T");
  define(env, exports, "to", to, "T,dtype?,device?,b");
  define(env, exports, "dispose", dispose, "T");
  define(env, exports, "isDisposed", isDisposed, "T");
  define(env, exports, "liveCount", liveCount, "");
  define(env, exports, "memory", memory, "");
  define(env, exports, "requiresGrad", requiresGrad, "T");
  define(env, exports, "setRequiresGrad", setRequiresGrad, "T,b");
  define(env, exports, "grad", grad, "T");
  define(env, exports, "hasGrad", hasGrad, "T");
  define(env, exports, "setGrad", setGrad, "T,T?");
  define(env, exports, "isLeaf", isLeaf, "T");
  define(env, exports, "gradFnName", gradFnName, "T");
  define(env, exports, "retainGrad", retainGrad, "T");
  define(env, exports, "isContiguous", isContiguous, "T");
}

}  // namespace lethe
