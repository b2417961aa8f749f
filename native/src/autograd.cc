// Autograd entry points: backward, grad and the grad mode switch (noGrad in TS).
#include <torch/csrc/autograd/autograd.h>

#include "core.h"

namespace lethe {
namespace {

Napi::Value backward(const Napi::CallbackInfo& info, Args& a) {
  // (output, gradient|null, retainGraph|null, createGraph)
  auto out = a.tensor(0, "output");
  auto g = a.optTensor(1, "gradient");
  c10::optional<bool> retain;
  if (!a.isNullish(2)) retain = a.boolean(2, "retainGraph");
  TORCH_CHECK(g || out.numel() == 1, "backward() without a gradient needs a scalar output, got ", out.sizes());
  out.backward(g ? *g : at::Tensor(), retain, a.boolean(3, "createGraph"));
  return info.Env().Undefined();
}

Napi::Value grad(const Napi::CallbackInfo& info, Args& a) {
  // (outputs[], inputs[], gradOutputs[]|null, retainGraph|null, createGraph, allowUnused)
  auto outputs = a.tensorList(0, "outputs");
  auto inputs = a.tensorList(1, "inputs");
  std::vector<at::Tensor> gradOutputs;
  if (!a.isNullish(2)) gradOutputs = a.tensorList(2, "gradOutputs");
  c10::optional<bool> retain;
  if (!a.isNullish(3)) retain = a.boolean(3, "retainGraph");
  auto grads = torch::autograd::grad(outputs, inputs, gradOutputs, retain, a.boolean(4, "createGraph"),
                                     a.boolean(5, "allowUnused"));
  auto arr = Napi::Array::New(info.Env(), grads.size());
  for (size_t k = 0; k < grads.size(); k++)
    arr.Set(static_cast<uint32_t>(k), grads[k].defined() ? wrap(info.Env(), grads[k]) : info.Env().Null());
  return arr;
}

Napi::Value setGradEnabled(const Napi::CallbackInfo& info, Args& a) {
  at::GradMode::set_enabled(a.boolean(0, "enabled"));
  return info.Env().Undefined();
}

Napi::Value isGradEnabled(const Napi::CallbackInfo& info, Args&) {
  return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled());
}

}  // namespace

void registerAutograd(Napi::Env env, Napi::Object exports) {
  define(env, exports, "backward", backward, "T,T?,b,b");
  define(env, exports, "autogradGrad", grad, "TL,TL,TL,b,b,b");
  define(env, exports, "setGradEnabled", setGradEnabled, "b");
  define(env, exports, "isGradEnabled", isGradEnabled, "");
}

}  // namespace lethe
