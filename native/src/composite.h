// Ops that libtorch 1.13 lacks or that differ between 1.13 and 2.x, written once from ATen ops.
#pragma once
#include <ATen/ATen.h>

namespace lethe {

// F.rms_norm: x / sqrt(mean(x^2) + eps) * weight, computed in float32 for half and bfloat16 inputs.
at::Tensor rmsNorm(const at::Tensor& input, at::IntArrayRef normalizedShape, const c10::optional<at::Tensor>& weight,
                   c10::optional<double> eps);

// F.scaled_dot_product_attention; libtorch's fused kernel where the version has a public one (2.1+),
// the same math from ATen ops on 1.13. A boolean mask marks the positions that take part.
at::Tensor scaledDotProductAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                     const c10::optional<at::Tensor>& attnMask, double dropoutP, bool isCausal,
                                     c10::optional<double> scale);

}  // namespace lethe
