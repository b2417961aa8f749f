// The op table: one entry per op, the single source for both the C++ entry points
// (native/src/ops.gen.cc) and the TypeScript functions (src/torch/ops.gen.ts).
// `node native/generate.mjs` writes both; a test fails when they are stale.
//
// sig: comma-separated `name:kind[=default]`; a `{...}` group at the end becomes an options
// object in TypeScript. Kinds (C++ type / TS type):
//   T Tensor · T? optional Tensor · TS Tensor or JS number/boolean (a PyTorch "wrapped number")
//   TL Tensor[] · S Scalar · S? optional Scalar · f double · f? optional double · i int64 ·
//   i? optional int64 · b bool · L int list (number[]) · D dims (number | number[]) · D? optional dims ·
//   str string · dtype? optional dtype · device? optional device · raw (body reads `a` itself;
//   the TS type follows in <...>)
// ret: T Tensor · VI {values, indices} · TL Tensor[] · f number · b boolean · self (in place: the input)
// cpp: an expression, or a block (starts with `{`) that returns.
// method: also a method on Tensor (first argument is `this`).

const creation = '{dtype:dtype?, device:device?, requiresGrad:b=false}';
const withOpts = (body) => `{ auto t = ${body}; if (requiresGrad) t.set_requires_grad(true); return t; }`;

const unary = (name, cppName = name) => ({ name, sig: 'input:T', cpp: `at::${cppName}(input)`, method: true });
const binary = (name, cppName = name) => ({ name, sig: 'input:T, other:TS', cpp: `at::${cppName}(input, other)`, method: true });

export const ops = [
  // ---- creation
  { name: 'zeros', sig: `size:L, ${creation}`, cpp: withOpts('at::zeros(size, a.options(dtype, device))') },
  { name: 'ones', sig: `size:L, ${creation}`, cpp: withOpts('at::ones(size, a.options(dtype, device))') },
  {
    name: 'full',
    sig: `size:L, fillValue:S, ${creation}`,
    cpp: withOpts(
      'at::full(size, fillValue, a.options(dtype ? dtype : c10::optional<at::ScalarType>(fillValue.isFloatingPoint() ? at::get_default_dtype_as_scalartype() : fillValue.isBoolean() ? at::kBool : at::kLong), device))',
    ),
  },
  { name: 'empty', sig: `size:L, ${creation}`, cpp: withOpts('at::empty(size, a.options(dtype, device))') },
  {
    name: 'arange',
    sig: `start:S, end:S?=null, step:S=1, ${creation}`,
    cpp: withOpts(
      '(end ? at::arange(start, *end, step, a.options(dtype, device, start, *end, step)) : at::arange(at::Scalar(0), start, step, a.options(dtype, device, start, start, step)))',
    ),
  },
  {
    name: 'linspace',
    sig: `start:f, end:f, steps:i, ${creation}`,
    cpp: withOpts('at::linspace(start, end, steps, a.options(dtype, device))'),
  },
  {
    name: 'eye',
    sig: `n:i, m:i?=null, ${creation}`,
    cpp: withOpts('(m ? at::eye(n, *m, a.options(dtype, device)) : at::eye(n, a.options(dtype, device)))'),
  },
  { name: 'randn', sig: `size:L, ${creation}`, cpp: withOpts('at::randn(size, a.options(dtype, device))') },
  { name: 'rand', sig: `size:L, ${creation}`, cpp: withOpts('at::rand(size, a.options(dtype, device))') },
  {
    name: 'randint',
    sig: `low:i, high:i, size:L, {dtype:dtype?, device:device?}`,
    cpp: 'at::randint(low, high, size, a.options(dtype ? dtype : c10::optional<at::ScalarType>(at::kLong), device))',
  },
  {
    name: 'randperm',
    sig: `n:i, {dtype:dtype?, device:device?}`,
    cpp: 'at::randperm(n, a.options(dtype ? dtype : c10::optional<at::ScalarType>(at::kLong), device))',
  },
  {
    name: 'multinomial',
    sig: 'input:T, numSamples:i, replacement:b=false',
    cpp: 'at::multinomial(input, numSamples, replacement)',
    method: true,
  },
  {
    name: 'zerosLike',
    sig: 'input:T, {dtype:dtype?}',
    cpp: 'at::zeros_like(input, dtype ? input.options().dtype(*dtype) : input.options())',
  },
  {
    name: 'onesLike',
    sig: 'input:T, {dtype:dtype?}',
    cpp: 'at::ones_like(input, dtype ? input.options().dtype(*dtype) : input.options())',
  },
  {
    name: 'fullLike',
    sig: 'input:T, fillValue:S, {dtype:dtype?}',
    cpp: 'at::full_like(input, fillValue, dtype ? input.options().dtype(*dtype) : input.options())',
  },
  {
    name: 'randnLike',
    sig: 'input:T, {dtype:dtype?}',
    cpp: 'at::randn_like(input, dtype ? input.options().dtype(*dtype) : input.options())',
  },
  {
    name: 'randLike',
    sig: 'input:T, {dtype:dtype?}',
    cpp: 'at::rand_like(input, dtype ? input.options().dtype(*dtype) : input.options())',
  },
  { name: 'clone', sig: 'input:T', cpp: 'at::clone(input)', method: true },
  { name: 'detach', sig: 'input:T', cpp: 'input.detach()', method: true },
  { name: 'contiguous', sig: 'input:T', cpp: 'input.contiguous()', method: true },

  // ---- elementwise math
  { name: 'add', sig: 'input:T, other:TS, alpha:S=1', cpp: 'at::add(input, other, alpha)', method: true },
  { name: 'sub', sig: 'input:T, other:TS, alpha:S=1', cpp: 'at::sub(input, other, alpha)', method: true },
  binary('mul'),
  {
    name: 'div',
    sig: "input:T, other:TS, roundingMode:raw<'trunc' | 'floor' | null>=null",
    cpp: '{ auto mode = a.optString(2, "roundingMode"); return mode ? at::div(input, other, c10::string_view(*mode)) : at::div(input, other); }',
    method: true,
  },
  { name: 'pow', sig: 'input:T, exponent:TS', cpp: 'at::pow(input, exponent)', method: true },
  binary('remainder'),
  binary('maximum'),
  binary('minimum'),
  binary('atan2'),
  unary('neg'),
  unary('abs'),
  unary('exp'),
  unary('log'),
  unary('log2'),
  unary('log1p'),
  unary('expm1'),
  unary('sqrt'),
  unary('rsqrt'),
  unary('sin'),
  unary('cos'),
  unary('tanh'),
  unary('sigmoid'),
  unary('relu'),
  unary('floor'),
  unary('ceil'),
  unary('round'),
  unary('trunc'),
  unary('sign'),
  unary('reciprocal'),
  unary('erf'),
  unary('square'),
  unary('logicalNot', 'logical_not'),
  unary('isnan'),
  unary('isinf'),
  unary('isfinite'),
  unary('logsigmoid', 'log_sigmoid'),
  { name: 'lerp', sig: 'input:T, end:T, weight:TS', cpp: 'at::lerp(input, end, weight)', method: true },
  { name: 'clamp', sig: 'input:T, min:S?=null, max:S?=null', cpp: 'at::clamp(input, min, max)', method: true },

  // ---- comparisons and logic
  binary('eq'),
  binary('ne'),
  binary('lt'),
  binary('le'),
  binary('gt'),
  binary('ge'),
  binary('logicalAnd', 'logical_and'),
  binary('logicalOr', 'logical_or'),
  binary('logicalXor', 'logical_xor'),
  { name: 'where', sig: 'condition:T, input:TS, other:TS', cpp: 'at::where(condition, input, other)' },
  {
    name: 'allclose',
    sig: 'input:T, other:T, rtol:f=1e-5, atol:f=1e-8',
    cpp: 'at::allclose(input, other, rtol, atol)',
    ret: 'b',
    method: true,
  },
  { name: 'equal', sig: 'input:T, other:T', cpp: 'at::equal(input, other)', ret: 'b', method: true },

  // ---- reductions
  {
    name: 'sum',
    sig: 'input:T, dim:D?=null, keepdim:b=false, {dtype:dtype?}',
    cpp: '(dim ? at::sum(input, *dim, keepdim, dtype) : at::sum(input, dtype))',
    method: true,
  },
  {
    name: 'mean',
    sig: 'input:T, dim:D?=null, keepdim:b=false, {dtype:dtype?}',
    cpp: '(dim ? at::mean(input, *dim, keepdim, dtype) : at::mean(input, dtype))',
    method: true,
  },
  { name: 'prod', sig: 'input:T, {dtype:dtype?}', cpp: 'at::prod(input, dtype)', method: true },
  {
    name: 'amax',
    sig: 'input:T, dim:D?=null, keepdim:b=false',
    cpp: 'at::amax(input, dim ? at::IntArrayRef(*dim) : at::IntArrayRef(), keepdim)',
    method: true,
  },
  {
    name: 'amin',
    sig: 'input:T, dim:D?=null, keepdim:b=false',
    cpp: 'at::amin(input, dim ? at::IntArrayRef(*dim) : at::IntArrayRef(), keepdim)',
    method: true,
  },
  { name: 'maxAll', sig: 'input:T', cpp: 'at::max(input)', internal: true },
  { name: 'minAll', sig: 'input:T', cpp: 'at::min(input)', internal: true },
  { name: 'maxDim', sig: 'input:T, dim:i, keepdim:b=false', cpp: 'at::max(input, dim, keepdim)', ret: 'VI', internal: true },
  { name: 'minDim', sig: 'input:T, dim:i, keepdim:b=false', cpp: 'at::min(input, dim, keepdim)', ret: 'VI', internal: true },
  { name: 'argmax', sig: 'input:T, dim:i?=null, keepdim:b=false', cpp: 'at::argmax(input, dim, keepdim)', method: true },
  { name: 'argmin', sig: 'input:T, dim:i?=null, keepdim:b=false', cpp: 'at::argmin(input, dim, keepdim)', method: true },
  { name: 'logsumexp', sig: 'input:T, dim:D, keepdim:b=false', cpp: 'at::logsumexp(input, dim, keepdim)', method: true },
  {
    name: 'var',
    sig: 'input:T, dim:D?=null, unbiased:b=true, keepdim:b=false',
    cpp: '(dim ? at::var(input, at::OptionalIntArrayRef(*dim), unbiased, keepdim) : at::var(input, unbiased))',
    method: true,
  },
  {
    name: 'std',
    sig: 'input:T, dim:D?=null, unbiased:b=true, keepdim:b=false',
    cpp: '(dim ? at::std(input, at::OptionalIntArrayRef(*dim), unbiased, keepdim) : at::std(input, unbiased))',
    method: true,
  },
  {
    name: 'norm',
    sig: 'input:T, p:S=2, dim:D?=null, keepdim:b=false',
    cpp: '(dim ? at::norm(input, c10::optional<at::Scalar>(p), at::IntArrayRef(*dim), keepdim) : at::norm(input, p))',
    method: true,
  },
  { name: 'cumsum', sig: 'input:T, dim:i, {dtype:dtype?}', cpp: 'at::cumsum(input, dim, dtype)', method: true },
  {
    name: 'topk',
    sig: 'input:T, k:i, dim:i=-1, largest:b=true, sorted:b=true',
    cpp: 'at::topk(input, k, dim, largest, sorted)',
    ret: 'VI',
    method: true,
  },
  { name: 'sort', sig: 'input:T, dim:i=-1, descending:b=false', cpp: 'at::sort(input, dim, descending)', ret: 'VI', method: true },
  { name: 'all', sig: 'input:T', cpp: 'at::all(input)', method: true },
  { name: 'any', sig: 'input:T', cpp: 'at::any(input)', method: true },

  // ---- shape
  { name: 'reshape', sig: 'input:T, shape:L', cpp: 'at::reshape(input, shape)', method: true },
  { name: 'view', sig: 'input:T, shape:L', cpp: 'input.view(shape)', method: true },
  { name: 't', sig: 'input:T', cpp: 'input.t()', method: true },
  { name: 'transpose', sig: 'input:T, dim0:i, dim1:i', cpp: 'at::transpose(input, dim0, dim1)', method: true },
  { name: 'permute', sig: 'input:T, dims:L', cpp: 'at::permute(input, dims)', method: true },
  { name: 'squeeze', sig: 'input:T, dim:i?=null', cpp: '(dim ? at::squeeze(input, *dim) : at::squeeze(input))', method: true },
  { name: 'unsqueeze', sig: 'input:T, dim:i', cpp: 'at::unsqueeze(input, dim)', method: true },
  { name: 'expand', sig: 'input:T, size:L', cpp: 'input.expand(size)', method: true },
  { name: 'expandAs', sig: 'input:T, other:T', cpp: 'input.expand_as(other)', method: true },
  { name: 'flatten', sig: 'input:T, startDim:i=0, endDim:i=-1', cpp: 'at::flatten(input, startDim, endDim)', method: true },
  { name: 'repeat', sig: 'input:T, repeats:L', cpp: 'input.repeat(repeats)', method: true },
  { name: 'repeatInterleave', sig: 'input:T, repeats:i, dim:i?=null', cpp: 'at::repeat_interleave(input, repeats, dim)', method: true },
  { name: 'cat', sig: 'tensors:TL, dim:i=0', cpp: 'at::cat(tensors, dim)' },
  { name: 'stack', sig: 'tensors:TL, dim:i=0', cpp: 'at::stack(tensors, dim)' },
  {
    name: 'split',
    sig: 'input:T, splitSizeOrSections:raw<number | number[]>, dim:i=0',
    cpp: '(a.isNumber(1) ? at::split(input, a.i64(1, "splitSizeOrSections"), dim) : at::split_with_sizes(input, a.ints(1, "splitSizeOrSections"), dim))',
    ret: 'TL',
    method: true,
  },
  { name: 'chunk', sig: 'input:T, chunks:i, dim:i=0', cpp: 'at::chunk(input, chunks, dim)', ret: 'TL', method: true },
  { name: 'unbind', sig: 'input:T, dim:i=0', cpp: 'at::unbind(input, dim)', ret: 'TL', method: true },
  { name: 'narrow', sig: 'input:T, dim:i, start:i, length:i', cpp: 'at::narrow(input, dim, start, length)', method: true },
  { name: 'select', sig: 'input:T, dim:i, index:i', cpp: 'at::select(input, dim, index)', method: true },
  {
    name: 'slice',
    sig: 'input:T, dim:i=0, start:i?=null, end:i?=null, step:i=1',
    cpp: 'at::slice(input, dim, start, end, step)',
    method: true,
  },
  { name: 'indexSelect', sig: 'input:T, dim:i, index:T', cpp: 'at::index_select(input, dim, index)', method: true },
  { name: 'gather', sig: 'input:T, dim:i, index:T', cpp: 'at::gather(input, dim, index)', method: true },
  {
    name: 'scatter',
    sig: 'input:T, dim:i, index:T, src:TS',
    cpp: '(a.tsIsTensor(0) ? at::scatter(input, dim, index, a.tensor(3, "src")) : at::scatter(input, dim, index, a.scalar(3, "src")))',
    method: true,
  },
  { name: 'scatterAdd', sig: 'input:T, dim:i, index:T, src:T', cpp: 'at::scatter_add(input, dim, index, src)', method: true },
  { name: 'maskedFill', sig: 'input:T, mask:T, value:S', cpp: 'at::masked_fill(input, mask, value)', method: true },
  { name: 'maskedSelect', sig: 'input:T, mask:T', cpp: 'at::masked_select(input, mask)', method: true },
  { name: 'nonzero', sig: 'input:T', cpp: 'at::nonzero(input)', method: true },
  { name: 'triu', sig: 'input:T, diagonal:i=0', cpp: 'at::triu(input, diagonal)', method: true },
  { name: 'tril', sig: 'input:T, diagonal:i=0', cpp: 'at::tril(input, diagonal)', method: true },
  { name: 'flip', sig: 'input:T, dims:L', cpp: 'at::flip(input, dims)', method: true },
  { name: 'roll', sig: 'input:T, shifts:L, dims:L', cpp: 'at::roll(input, shifts, dims)', method: true },
  { name: 'oneHot', sig: 'input:T, numClasses:i=-1', cpp: 'at::one_hot(input, numClasses)', method: true },

  // ---- linear algebra
  { name: 'matmul', sig: 'input:T, other:T', cpp: 'at::matmul(input, other)', method: true },
  { name: 'mm', sig: 'input:T, mat2:T', cpp: 'at::mm(input, mat2)', method: true },
  { name: 'bmm', sig: 'input:T, mat2:T', cpp: 'at::bmm(input, mat2)', method: true },
  { name: 'linear', sig: 'input:T, weight:T, bias:T?=null', cpp: 'at::linear(input, weight, bias)' },
  { name: 'outer', sig: 'input:T, vec2:T', cpp: 'at::outer(input, vec2)', method: true },

  // ---- neural-network functional
  // F.embedding: a negative paddingIdx counts from the end; none means no padding row (-1 to ATen).
  {
    name: 'embedding',
    sig: 'input:T, weight:T, {paddingIdx:i?}',
    cpp: 'at::embedding(weight, input, paddingIdx ? (*paddingIdx < 0 ? *paddingIdx + weight.size(0) : *paddingIdx) : -1)',
  },
  {
    name: 'layerNorm',
    sig: 'input:T, normalizedShape:L, weight:T?=null, bias:T?=null, eps:f=1e-5',
    cpp: 'at::layer_norm(input, normalizedShape, weight, bias, eps)',
  },
  {
    name: 'rmsNorm',
    sig: 'input:T, normalizedShape:L, weight:T?=null, eps:f?=null',
    cpp: 'lethe::rmsNorm(input, normalizedShape, weight, eps)',
  },
  { name: 'softmax', sig: 'input:T, dim:i, {dtype:dtype?}', cpp: 'at::softmax(input, dim, dtype)', method: true },
  { name: 'logSoftmax', sig: 'input:T, dim:i, {dtype:dtype?}', cpp: 'at::log_softmax(input, dim, dtype)', method: true },
  {
    name: 'crossEntropy',
    sig: "input:T, target:T, {weight:T?, ignoreIndex:i=-100, reduction:str<'none' | 'mean' | 'sum'>='mean', labelSmoothing:f=0}",
    cpp: 'at::cross_entropy_loss(input, target, weight, a.reduction(reduction), ignoreIndex, labelSmoothing)',
  },
  {
    name: 'nllLoss',
    sig: "input:T, target:T, {weight:T?, ignoreIndex:i=-100, reduction:str<'none' | 'mean' | 'sum'>='mean'}",
    cpp: 'at::nll_loss_nd(input, target, weight, a.reduction(reduction), ignoreIndex)',
  },
  {
    name: 'klDiv',
    sig: "input:T, target:T, {reduction:str<'none' | 'mean' | 'sum' | 'batchmean'>='mean', logTarget:b=false}",
    cpp: '(reduction == "batchmean" ? at::kl_div(input, target, at::Reduction::Sum, logTarget) / (input.dim() > 0 ? input.size(0) : 1) : at::kl_div(input, target, a.reduction(reduction), logTarget))',
  },
  {
    name: 'mseLoss',
    sig: "input:T, target:T, {reduction:str<'none' | 'mean' | 'sum'>='mean'}",
    cpp: 'at::mse_loss(input, target, a.reduction(reduction))',
  },
  {
    name: 'binaryCrossEntropyWithLogits',
    sig: "input:T, target:T, {weight:T?, posWeight:T?, reduction:str<'none' | 'mean' | 'sum'>='mean'}",
    cpp: 'at::binary_cross_entropy_with_logits(input, target, weight, posWeight, a.reduction(reduction))',
  },
  { name: 'dropout', sig: 'input:T, p:f=0.5, training:b=true', cpp: 'at::dropout(input, p, training)' },
  { name: 'gelu', sig: "input:T, approximate:str<'none' | 'tanh'>='none'", cpp: 'at::gelu(input, approximate)', method: true },
  { name: 'silu', sig: 'input:T', cpp: 'at::silu(input)', method: true },
  { name: 'softplus', sig: 'input:T, beta:f=1, threshold:f=20', cpp: 'at::softplus(input, beta, threshold)', method: true },
  {
    name: 'scaledDotProductAttention',
    sig: 'query:T, key:T, value:T, {attnMask:T?, dropoutP:f=0, isCausal:b=false, scale:f?}',
    cpp: 'lethe::scaledDotProductAttention(query, key, value, attnMask, dropoutP, isCausal, scale)',
  },

  // ---- in place (optimizers, weight loading); PyTorch's trailing underscore, returns the same tensor
  { name: 'copy_', sig: 'input:T, src:T', cpp: 'input.copy_(src)', ret: 'self', method: true },
  { name: 'zero_', sig: 'input:T', cpp: 'input.zero_()', ret: 'self', method: true },
  { name: 'fill_', sig: 'input:T, value:S', cpp: 'input.fill_(value)', ret: 'self', method: true },
  { name: 'add_', sig: 'input:T, other:TS, alpha:S=1', cpp: 'input.add_(other, alpha)', ret: 'self', method: true },
  { name: 'mul_', sig: 'input:T, other:TS', cpp: 'input.mul_(other)', ret: 'self', method: true },
  { name: 'clamp_', sig: 'input:T, min:S?=null, max:S?=null', cpp: 'input.clamp_(min, max)', ret: 'self', method: true },
];
