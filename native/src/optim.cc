// Optimizer updates, one native call per step for all parameters (as PyTorch's foreach path):
// the per-parameter math follows torch.optim's single-tensor AdamW and SGD.
#include <cmath>

#include "core.h"

namespace lethe {
namespace {

Napi::Value adamwStep(const Napi::CallbackInfo& info, Args& a) {
  // (params[], expAvg[], expAvgSq[], step, lr, beta1, beta2, eps, weightDecay)
  auto params = a.tensorList(0, "params");
  auto m = a.tensorList(1, "expAvg");
  auto v = a.tensorList(2, "expAvgSq");
  TORCH_CHECK(params.size() == m.size() && params.size() == v.size(), "params and state lists differ in length");
  double step = a.f64(3, "step"), lr = a.f64(4, "lr"), b1 = a.f64(5, "beta1"), b2 = a.f64(6, "beta2");
  double eps = a.f64(7, "eps"), wd = a.f64(8, "weightDecay");
  at::NoGradGuard noGrad;
  double bc1 = 1 - std::pow(b1, step), bc2 = 1 - std::pow(b2, step);
  double stepSize = lr / bc1, bc2Sqrt = std::sqrt(bc2);
  for (size_t k = 0; k < params.size(); k++) {
    auto& p = params[k];
    const auto& g = p.grad();
    if (!g.defined()) continue;
    if (wd != 0) p.mul_(1 - lr * wd);
    m[k].lerp_(g, 1 - b1);
    v[k].mul_(b2).addcmul_(g, g, 1 - b2);
    auto denom = (v[k].sqrt() / bc2Sqrt).add_(eps);
    p.addcdiv_(m[k], denom, -stepSize);
  }
  return info.Env().Undefined();
}

Napi::Value sgdStep(const Napi::CallbackInfo& info, Args& a) {
  // (params[], momentumBuffers[] | null, lr, momentum, dampening, weightDecay, nesterov, firstStep)
  auto params = a.tensorList(0, "params");
  std::vector<at::Tensor> bufs;
  if (!a.isNullish(1)) bufs = a.tensorList(1, "momentumBuffers");
  double lr = a.f64(2, "lr"), momentum = a.f64(3, "momentum"), dampening = a.f64(4, "dampening");
  double wd = a.f64(5, "weightDecay");
  bool nesterov = a.boolean(6, "nesterov"), first = a.boolean(7, "firstStep");
  TORCH_CHECK(momentum == 0 || bufs.size() == params.size(), "momentum needs one buffer per parameter");
  at::NoGradGuard noGrad;
  for (size_t k = 0; k < params.size(); k++) {
    auto& p = params[k];
    auto d = p.grad();
    if (!d.defined()) continue;
    if (wd != 0) d = d.add(p, wd);
    if (momentum != 0) {
      if (first)
        bufs[k].copy_(d);
      else
        bufs[k].mul_(momentum).add_(d, 1 - dampening);
      d = nesterov ? d.add(bufs[k], momentum) : bufs[k];
    }
    p.add_(d, -lr);
  }
  return info.Env().Undefined();
}

Napi::Value zeroGrad(const Napi::CallbackInfo& info, Args& a) {
  // (params[], setToNone)
  auto params = a.tensorList(0, "params");
  bool none = a.boolean(1, "setToNone");
  for (auto& p : params) {
    auto& g = p.mutable_grad();
    if (!g.defined()) continue;
    if (none) {
      g.reset();
    } else {
      if (g.grad_fn()) g = g.detach();
      else g.requires_grad_(false);
      g.zero_();
    }
  }
  return info.Env().Undefined();
}

// torch.nn.utils.clip_grad_norm_: returns the total norm before clipping.
Napi::Value clipGradNorm(const Napi::CallbackInfo& info, Args& a) {
  // (params[], maxNorm, normType, errorIfNonfinite)
  auto params = a.tensorList(0, "params");
  double maxNorm = a.f64(1, "maxNorm"), normType = a.f64(2, "normType");
  bool errorIfNonfinite = a.boolean(3, "errorIfNonfinite");
  at::NoGradGuard noGrad;
  std::vector<at::Tensor> grads;
  for (auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return Napi::Number::New(info.Env(), 0.0);
  at::Tensor total;
  std::vector<at::Tensor> norms;
  for (auto& g : grads) norms.push_back(std::isinf(normType) ? g.abs().max().to(at::kFloat) : at::norm(g, normType).to(at::kFloat));
  auto stacked = at::stack(norms);
  total = std::isinf(normType) ? stacked.max() : at::norm(stacked, normType);
  double totalValue = total.item<double>();
  TORCH_CHECK(!errorIfNonfinite || std::isfinite(totalValue), "the total norm of order ", normType,
              " of the gradients is non-finite, so it cannot be clipped");
  double coef = maxNorm / (totalValue + 1e-6);
  if (coef < 1)
    for (auto& g : grads) g.mul_(coef);
  return Napi::Number::New(info.Env(), totalValue);
}

}  // namespace

void registerOptim(Napi::Env env, Napi::Object exports) {
  define(env, exports, "adamwStep", adamwStep, "TL,TL,TL,f,f,f,f,f,f");
  define(env, exports, "sgdStep", sgdStep, "TL,TL,f,f,f,f,b,b");
  define(env, exports, "zeroGrad", zeroGrad, "TL,b");
  define(env, exports, "clipGradNorm", clipGradNorm, "TL,f,f,b");
}

}  // namespace lethe
