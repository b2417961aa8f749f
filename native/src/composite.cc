#include "composite.h"

#include <torch/version.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace lethe {

at::Tensor rmsNorm(const at::Tensor& input, at::IntArrayRef normalizedShape, const c10::optional<at::Tensor>& weight,
                   c10::optional<double> eps) {
  auto nd = static_cast<int64_t>(normalizedShape.size());
  TORCH_CHECK(nd >= 1 && nd <= input.dim(), "normalizedShape ", normalizedShape, " does not fit input of ", input.dim(),
              " dims");
  for (int64_t k = 0; k < nd; k++)
    TORCH_CHECK(input.size(input.dim() - nd + k) == normalizedShape[k], "normalizedShape ", normalizedShape,
                " does not match the input's trailing dims ", input.sizes());
  std::vector<int64_t> dims(nd);
  std::iota(dims.begin(), dims.end(), input.dim() - nd);
  bool upcast = input.scalar_type() == at::kHalf || input.scalar_type() == at::kBFloat16;
  auto x = upcast ? input.to(at::kFloat) : input;
  double e = eps ? *eps
                 : (input.scalar_type() == at::kDouble ? std::numeric_limits<double>::epsilon()
                    : input.scalar_type() == at::kHalf ? 0.0009765625
                    : input.scalar_type() == at::kBFloat16 ? 0.0078125
                                                           : static_cast<double>(std::numeric_limits<float>::epsilon()));
  auto out = x * at::rsqrt(x.pow(2).mean(dims, /*keepdim=*/true) + e);
  if (upcast) out = out.to(input.scalar_type());
  if (weight && weight->defined()) out = out * *weight;
  return out;
}

at::Tensor scaledDotProductAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                     const c10::optional<at::Tensor>& attnMask, double dropoutP, bool isCausal,
                                     c10::optional<double> scale) {
  TORCH_CHECK(q.dim() >= 2 && k.dim() >= 2 && v.dim() >= 2, "query, key and value need at least 2 dims");
  TORCH_CHECK(q.size(-1) == k.size(-1), "query and key must have the same last dim, got ", q.sizes(), " and ", k.sizes());
  TORCH_CHECK(k.size(-2) == v.size(-2), "key and value must have the same sequence length, got ", k.sizes(), " and ",
              v.sizes());
  TORCH_CHECK(!(isCausal && attnMask && attnMask->defined()), "pass either attnMask or isCausal, not both");
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  return at::scaled_dot_product_attention(q, k, v, attnMask, dropoutP, isCausal, scale);
#else
  double s = scale ? *scale : 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto scores = at::matmul(q, k.transpose(-2, -1)) * s;  // [..., L, S]
  int64_t L = q.size(-2), S = k.size(-2);
  if (isCausal) {
    auto keep = at::ones({L, S}, q.options().dtype(at::kBool)).tril(0);
    scores = scores.masked_fill(keep.logical_not(), -std::numeric_limits<double>::infinity());
  } else if (attnMask && attnMask->defined()) {
    if (attnMask->scalar_type() == at::kBool)
      scores = scores.masked_fill(attnMask->logical_not(), -std::numeric_limits<double>::infinity());
    else
      scores = scores + *attnMask;
  }
  auto probs = at::softmax(scores, -1);
  if (dropoutP > 0) probs = at::dropout(probs, dropoutP, /*train=*/true);
  return at::matmul(probs, v);
#endif
}

}  // namespace lethe
