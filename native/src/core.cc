#include "core.h"

#include <sstream>
#include <stdexcept>

namespace lethe {

namespace {
void neverFree(Napi::Env, InstanceData*) {}
}  // namespace

InstanceData* instance(Napi::Env env) {
  auto* data = env.GetInstanceData<InstanceData>();
  if (!data) {
    data = new InstanceData();
    // Deliberately not freed: a late FinalizationRegistry callback may still release a handle.
    env.SetInstanceData<InstanceData, neverFree>(data);
  }
  return data;
}

Napi::Value wrap(Napi::Env env, at::Tensor t) {
  auto* data = instance(env);
  uint32_t index;
  if (!data->freeSlots.empty()) {
    index = data->freeSlots.back();
    data->freeSlots.pop_back();
  } else {
    if (data->slots.size() >= static_cast<size_t>(kSlotSpan)) throw std::runtime_error("more than 16M live tensors");
    index = static_cast<uint32_t>(data->slots.size());
    data->slots.emplace_back();
  }
  auto& slot = data->slots[index];
  slot.t = std::move(t);
  data->live++;
  return Napi::Number::New(env, static_cast<double>(slot.gen) * kSlotSpan + index);
}

namespace {
// Decodes a handle into (index, gen); false when the value cannot be one.
bool decode(const Napi::Value& v, uint32_t& index, uint32_t& gen) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= kSlotSpan) || d != std::floor(d) || d > 9.007199254740992e15) return false;
  gen = static_cast<uint32_t>(std::floor(d / kSlotSpan));
  index = static_cast<uint32_t>(d - static_cast<double>(gen) * kSlotSpan);
  return true;
}
}  // namespace

Slot* lookup(InstanceData* data, const Napi::Value& v) {
  uint32_t index, gen;
  if (!decode(v, index, gen) || index >= data->slots.size()) return nullptr;
  auto& slot = data->slots[index];
  return slot.gen == gen && slot.t.defined() ? &slot : nullptr;
}

bool release(InstanceData* data, const Napi::Value& v) {
  Slot* slot = lookup(data, v);
  if (!slot) return false;
  slot->t = at::Tensor();
  slot->gen = slot->gen >= 0x1FFFFFFu ? 1 : slot->gen + 1;  // keeps handles below 2^53
  data->freeSlots.push_back(static_cast<uint32_t>(slot - data->slots.data()));
  data->live--;
  return true;
}

std::string dtypeName(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kShort: return "int16";
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return c10::toString(t);
  }
}

at::ScalarType parseDtype(const std::string& n) {
  if (n == "float32" || n == "float") return at::kFloat;
  if (n == "float64" || n == "double") return at::kDouble;
  if (n == "float16" || n == "half") return at::kHalf;
  if (n == "bfloat16") return at::kBFloat16;
  if (n == "int64" || n == "long") return at::kLong;
  if (n == "int32" || n == "int") return at::kInt;
  if (n == "int16") return at::kShort;
  if (n == "int8") return at::kChar;
  if (n == "uint8") return at::kByte;
  if (n == "bool") return at::kBool;
  throw std::invalid_argument("unknown dtype '" + n +
                              "' (expected float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8 or bool)");
}

std::string describe(const at::Tensor& t) {
  if (!t.defined()) return "Tensor(disposed)";
  std::ostringstream s;
  s << "Tensor[";
  for (int64_t d = 0; d < t.dim(); d++) s << (d ? ", " : "") << t.size(d);
  s << "] " << dtypeName(t.scalar_type());
  if (!t.device().is_cpu()) s << " " << t.device().str();
  return s.str();
}

namespace {
std::vector<std::string> splitKinds(const char* kinds) {
  std::vector<std::string> out;
  std::string cur;
  for (const char* c = kinds; *c; c++) {
    if (*c == ',') {
      out.push_back(cur);
      cur.clear();
    } else if (*c != ' ') {
      cur += *c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string describePlain(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsNumber()) {
    std::ostringstream s;
    s << v.As<Napi::Number>().DoubleValue();
    return s.str();
  }
  if (v.IsString()) {
    auto str = v.As<Napi::String>().Utf8Value();
    if (str.size() > 40) str = str.substr(0, 40) + "...";
    return "'" + str + "'";
  }
  if (v.IsTypedArray()) return "typed array";
  if (v.IsFunction()) return "function";
  if (v.IsArray()) {
    auto arr = v.As<Napi::Array>();
    std::string out = "[";
    uint32_t n = arr.Length();
    for (uint32_t k = 0; k < n && k < 8; k++) out += (k ? ", " : "") + describePlain(arr.Get(k));
    if (n > 8) out += ", ... (" + std::to_string(n) + " items)";
    return out + "]";
  }
  if (v.IsObject()) {
    // A non-tensor passed where a tensor goes arrives as {notTensor: value} (see src/torch/tensor.ts).
    auto o = v.As<Napi::Object>();
    if (o.Has("notTensor")) return describePlain(o.Get("notTensor"));
    return "object";
  }
  return "value";
}

std::string describeAs(InstanceData* data, const Napi::Value& v, const std::string& kind, bool tsTensor) {
  bool tensorKind = kind == "T" || kind == "T?" || (kind == "TS" && tsTensor);
  if (tensorKind && v.IsNumber()) {
    Slot* slot = lookup(data, v);
    return slot ? describe(slot->t) : "Tensor(disposed)";
  }
  if (v.IsArray()) {
    auto arr = v.As<Napi::Array>();
    std::string out = "[";
    uint32_t n = arr.Length();
    for (uint32_t k = 0; k < n && k < 8; k++) out += (k ? ", " : "") + describeAs(data, arr.Get(k), kind == "TL" ? "T" : "", false);
    if (n > 8) out += ", ... (" + std::to_string(n) + " items)";
    return out + "]";
  }
  return describePlain(v);
}
}  // namespace

std::string describeCall(const char* op, const Napi::CallbackInfo& info, const char* kinds) {
  auto* data = instance(info.Env());
  auto ks = splitKinds(kinds);
  // The TS mask, when the op has TS arguments, is the argument after the declared ones.
  uint32_t mask = 0;
  if (info.Length() > ks.size() && info[ks.size()].IsNumber()) mask = info[ks.size()].As<Napi::Number>().Uint32Value();
  std::string out = std::string(op) + "(";
  int tsBit = 0;
  for (size_t k = 0; k < info.Length() && k < ks.size(); k++) {
    const auto& kind = ks[k];
    bool tsTensor = kind == "TS" && ((mask >> tsBit++) & 1u);
    out += (k ? ", " : "") + describeAs(data, info[k], kind, tsTensor);
  }
  return out + ")";
}

// ---- Args

Args::Args(const Napi::CallbackInfo& info, const char* op, const char* kinds, int maskIndex)
    : info_(info), op_(op), kinds_(kinds), data_(instance(info.Env())) {
  if (maskIndex >= 0 && static_cast<size_t>(maskIndex) < info.Length() && info[maskIndex].IsNumber())
    tsMask_ = info[maskIndex].As<Napi::Number>().Uint32Value();
}

void Args::fail(size_t i, const char* name, const char* expected) const {
  auto ks = splitKinds(kinds_);
  std::string kind = i < ks.size() ? ks[i] : "";
  throw Napi::TypeError::New(info_.Env(), std::string(op_) + ": argument " + std::to_string(i + 1) + " ('" + name +
                                              "') must be " + expected + ", got " + describeAs(data_, at(i), kind == "TS" ? "" : kind, false));
}

at::Tensor Args::tensor(size_t i, const char* name) const {
  auto v = at(i);
  Slot* slot = lookup(data_, v);
  if (slot) return slot->t;
  if (!v.IsNumber() || v.As<Napi::Number>().DoubleValue() < kSlotSpan) fail(i, name, "a Tensor");
  throw Napi::Error::New(info_.Env(), std::string(op_) + ": argument " + std::to_string(i + 1) + " ('" + name +
                                          "') is a tensor that was disposed; it cannot be used after dispose()");
}

c10::optional<at::Tensor> Args::optTensor(size_t i, const char* name) const {
  if (isNullish(i)) return c10::nullopt;
  return tensor(i, name);
}

at::Tensor Args::tensorOrScalar(size_t i, const char* name, int bit) const {
  if ((tsMask_ >> bit) & 1u) return tensor(i, name);
  auto v = at(i);
  if (!v.IsNumber() && !v.IsBoolean()) fail(i, name, "a Tensor or a number");
  // A JS number acts like a Python scalar: a "wrapped number" that does not drive type promotion.
  auto t = c10::scalar_to_tensor(scalar(i, name));
  t.unsafeGetTensorImpl()->set_wrapped_number(true);
  return t;
}

std::vector<at::Tensor> Args::tensorList(size_t i, const char* name) const {
  auto v = at(i);
  if (!v.IsArray()) fail(i, name, "an array of Tensors");
  auto arr = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) {
    auto e = arr.Get(k);
    Slot* slot = lookup(data_, e);
    if (!slot) {
      if (!e.IsNumber() || e.As<Napi::Number>().DoubleValue() < kSlotSpan) fail(i, name, "an array of Tensors");
      throw Napi::Error::New(info_.Env(), std::string(op_) + ": argument '" + name + "' holds a disposed tensor at index " +
                                              std::to_string(k));
    }
    out.push_back(slot->t);
  }
  return out;
}

at::Scalar Args::scalar(size_t i, const char* name) const {
  auto v = at(i);
  if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
  if (!v.IsNumber()) fail(i, name, "a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.007199254740992e15) return at::Scalar(static_cast<int64_t>(d));
  return at::Scalar(d);
}

c10::optional<at::Scalar> Args::optScalar(size_t i, const char* name) const {
  if (isNullish(i)) return c10::nullopt;
  return scalar(i, name);
}

double Args::f64(size_t i, const char* name) const {
  auto v = at(i);
  if (!v.IsNumber()) fail(i, name, "a number");
  return v.As<Napi::Number>().DoubleValue();
}

c10::optional<double> Args::optF64(size_t i, const char* name) const {
  if (isNullish(i)) return c10::nullopt;
  return f64(i, name);
}

int64_t Args::i64(size_t i, const char* name) const {
  auto v = at(i);
  if (!v.IsNumber()) fail(i, name, "an integer");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9.007199254740992e15) fail(i, name, "an integer");
  return static_cast<int64_t>(d);
}

c10::optional<int64_t> Args::optI64(size_t i, const char* name) const {
  if (isNullish(i)) return c10::nullopt;
  return i64(i, name);
}

bool Args::boolean(size_t i, const char* name) const {
  auto v = at(i);
  if (!v.IsBoolean()) fail(i, name, "a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::vector<int64_t> Args::ints(size_t i, const char* name) const {
  auto v = at(i);
  if (v.IsNumber()) return {i64(i, name)};
  if (!v.IsArray()) fail(i, name, "an array of integers");
  auto arr = v.As<Napi::Array>();
  std::vector<int64_t> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) {
    auto e = arr.Get(k);
    if (!e.IsNumber()) fail(i, name, "an array of integers");
    double d = e.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d) || d != std::floor(d)) fail(i, name, "an array of integers");
    out.push_back(static_cast<int64_t>(d));
  }
  return out;
}

c10::optional<std::vector<int64_t>> Args::optInts(size_t i, const char* name) const {
  if (isNullish(i)) return c10::nullopt;
  return ints(i, name);
}

std::string Args::string(size_t i, const char* name) const {
  auto v = at(i);
  if (!v.IsString()) fail(i, name, "a string");
  return v.As<Napi::String>().Utf8Value();
}

c10::optional<std::string> Args::optString(size_t i, const char* name) const {
  if (isNullish(i)) return c10::nullopt;
  return string(i, name);
}

c10::optional<at::ScalarType> Args::optDtype(size_t i, const char* name) const {
  if (isNullish(i)) return c10::nullopt;
  auto s = string(i, name);
  try {
    return parseDtype(s);
  } catch (const std::invalid_argument& e) {
    throw Napi::TypeError::New(info_.Env(), std::string(op_) + ": argument '" + name + "': " + e.what());
  }
}

c10::optional<c10::Device> Args::optDevice(size_t i, const char* name) const {
  if (isNullish(i)) return c10::nullopt;
  auto s = string(i, name);
  try {
    return c10::Device(s);
  } catch (const c10::Error&) {
    throw Napi::TypeError::New(info_.Env(), std::string(op_) + ": argument '" + name + "': unknown device '" + s +
                                                "' (expected 'cpu', 'cuda' or 'cuda:N')");
  }
}

at::TensorOptions Args::options(c10::optional<at::ScalarType> dtype, c10::optional<c10::Device> device) const {
  at::TensorOptions o;
  if (dtype) o = o.dtype(*dtype);
  if (device) o = o.device(*device);
  return o;
}

at::TensorOptions Args::options(c10::optional<at::ScalarType> dtype, c10::optional<c10::Device> device,
                                const at::Scalar& s1, const at::Scalar& s2, const at::Scalar& s3) const {
  if (!dtype && s1.isIntegral(false) && s2.isIntegral(false) && s3.isIntegral(false)) dtype = at::kLong;
  return options(dtype, device);
}

int64_t Args::reduction(const std::string& r) const {
  if (r == "none") return at::Reduction::None;
  if (r == "mean") return at::Reduction::Mean;
  if (r == "sum") return at::Reduction::Sum;
  throw Napi::TypeError::New(info_.Env(), std::string(op_) + ": reduction must be 'none', 'mean' or 'sum', got '" + r + "'");
}

Napi::Value Args::result(const std::tuple<at::Tensor, at::Tensor>& t) const {
  auto arr = Napi::Array::New(info_.Env(), 2);
  arr.Set(0u, wrap(info_.Env(), std::get<0>(t)));
  arr.Set(1u, wrap(info_.Env(), std::get<1>(t)));
  return arr;
}

Napi::Value Args::result(const std::vector<at::Tensor>& ts) const {
  auto arr = Napi::Array::New(info_.Env(), ts.size());
  for (size_t k = 0; k < ts.size(); k++) arr.Set(static_cast<uint32_t>(k), wrap(info_.Env(), ts[k]));
  return arr;
}

// ---- registration behind the guard

namespace {
using Fn = Napi::Value (*)(const Napi::CallbackInfo&, Args&);
struct Entry {
  const char* name;
  Fn fn;
  const char* kinds;
};
Napi::Value trampoline(const Napi::CallbackInfo& info) {
  auto* e = static_cast<Entry*>(info.Data());
  return guard(e->name, e->kinds, info, [&]() -> Napi::Value {
    Args a(info, e->name, e->kinds);
    return e->fn(info, a);
  });
}
}  // namespace

void define(Napi::Env env, Napi::Object exports, const char* name, Fn fn, const char* kinds) {
  auto* e = new Entry{name, fn, kinds};  // lives as long as the function: one small entry per environment
  exports.Set(name, Napi::Function::New(env, trampoline, name, e));
}

}  // namespace lethe
