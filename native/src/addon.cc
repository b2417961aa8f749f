// Entry of the native addon. Context-aware (N-API): each worker thread gets its own exports
// and its own live-tensor table.
#include "core.h"

namespace {
Napi::Object init(Napi::Env env, Napi::Object exports) {
  lethe::instance(env);
  lethe::registerGeneratedOps(env, exports);
  lethe::registerTensorOps(env, exports);
  lethe::registerAutograd(env, exports);
  lethe::registerOptim(env, exports);
  lethe::registerSafetensors(env, exports);
  lethe::registerSystem(env, exports);
  lethe::registerDistributed(env, exports);
  return exports;
}
}  // namespace

NODE_API_MODULE(lethe, init)
