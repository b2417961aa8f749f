// torch.distributed for Lethe: libtorch's own c10d (a TCPStore rendezvous and ProcessGroupGloo on
// CPU, with LETHE_GLOO when Gloo's headers were found; ProcessGroupNCCL with LETHE_NCCL when built
// against a CUDA libtorch that has it), not a protocol of our own. One process group per process.
// Collectives are synchronous on the calling thread but bounded: Gloo's options timeout ends every
// operation, and Work::wait gets the same limit, so a dead or stopped peer becomes a JS error
// naming what happened, never a hang.
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#ifdef LETHE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef LETHE_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <memory>
#include <sstream>

#include "core.h"

namespace lethe {
namespace {

using Ms = std::chrono::milliseconds;

// The few collectives Lethe uses, over either backend (their method names match across libtorch
// 1.13, where groups derive ProcessGroup, and 2.x, where they derive Backend).
struct Group {
  virtual ~Group() = default;
  virtual void allreduce(std::vector<at::Tensor>& ts, c10d::ReduceOp op) = 0;
  virtual void broadcast(std::vector<at::Tensor>& ts, int64_t root) = 0;
  virtual void allgather(std::vector<std::vector<at::Tensor>>& out, std::vector<at::Tensor>& in) = 0;
  virtual void barrier() = 0;
};

template <typename PG>
struct GroupOf : Group {
  c10::intrusive_ptr<PG> pg;
  Ms timeout;
  GroupOf(c10::intrusive_ptr<PG> p, Ms t) : pg(std::move(p)), timeout(t) {}
  template <typename W>
  void finish(W work) {
    if (!work->wait(timeout)) throw std::runtime_error("Timed out waiting for the collective");
  }
  void allreduce(std::vector<at::Tensor>& ts, c10d::ReduceOp op) override {
    c10d::AllreduceOptions o;
    o.reduceOp = op;
    o.timeout = timeout;
    finish(pg->allreduce(ts, o));
  }
  void broadcast(std::vector<at::Tensor>& ts, int64_t root) override {
    c10d::BroadcastOptions o;
    o.rootRank = root;
    o.timeout = timeout;
    finish(pg->broadcast(ts, o));
  }
  void allgather(std::vector<std::vector<at::Tensor>>& out, std::vector<at::Tensor>& in) override {
    c10d::AllgatherOptions o;
    o.timeout = timeout;
    finish(pg->allgather(out, in, o));
  }
  void barrier() override {
    c10d::BarrierOptions o;
    o.timeout = timeout;
    finish(pg->barrier(o));
  }
};

// Deliberately leaked at exit: destroying a group whose peer died can block on Gloo's threads.
struct World {
  c10::intrusive_ptr<c10d::TCPStore> store;
  std::unique_ptr<Group> group;
  std::string backend;
  int rank = 0;
  int size = 1;
  Ms timeout{30000};
};
World* world = nullptr;

World& current(const char* op) {
  if (!world) throw std::runtime_error(std::string(op) + ": the process group is not initialized (call distributed.init first)");
  return *world;
}

// Turns Gloo's and the store's messages into what happened, in words.
[[noreturn]] void rethrow(const char* op, const World& w, const std::exception& e) {
  std::string msg = e.what();
  auto cut = msg.find("\nException raised from");
  if (cut != std::string::npos) msg = msg.substr(0, cut);
  std::ostringstream s;
  s << op << " (rank " << w.rank << " of " << w.size << ", " << w.backend << "): ";
  auto has = [&](const char* needle) { return msg.find(needle) != std::string::npos; };
  if (has("imed out") || has("imeout"))
    s << "a peer rank did not answer within " << w.timeout.count() / 1000.0 << " s (it died, stopped or is too slow): ";
  else if (has("losed") || has("eset by peer") || has("Broken pipe") || has("onnection refused"))
    s << "a peer rank closed its connection (it exited or was killed): ";
  s << msg;
  throw std::runtime_error(s.str());
}

c10d::ReduceOp reduceOp(const std::string& name) {
  if (name == "sum") return c10d::ReduceOp::SUM;
  if (name == "max") return c10d::ReduceOp::MAX;
  if (name == "min") return c10d::ReduceOp::MIN;
  if (name == "product") return c10d::ReduceOp::PRODUCT;
  throw std::invalid_argument("unknown reduce op '" + name + "' (expected sum, max, min or product)");
}

#ifdef LETHE_GLOO
std::shared_ptr<::gloo::transport::Device> glooDevice(const std::string& iface, const std::string& host) {
  if (!iface.empty()) return c10d::ProcessGroupGloo::createDeviceForInterface(iface);
  if (!host.empty()) return c10d::ProcessGroupGloo::createDeviceForHostname(host);
  return c10d::ProcessGroupGloo::createDefaultDevice();
}
#endif

// distInit(backend, masterAddr, masterPort, rank, worldSize, timeoutMs, glooInterface, glooHost)
Napi::Value distInit(const Napi::CallbackInfo& info, Args& a) {
  if (world) throw std::runtime_error("the process group is already initialized (rank " + std::to_string(world->rank) + " of " + std::to_string(world->size) + ")");
  auto backend = a.string(0, "backend");
  auto addr = a.string(1, "masterAddr");
  auto port = a.i64(2, "masterPort");
  auto rank = a.i64(3, "rank");
  auto size = a.i64(4, "worldSize");
  auto timeout = Ms(a.i64(5, "timeoutMs"));
  auto iface = a.string(6, "glooInterface");
  auto host = a.string(7, "glooHost");
  TORCH_CHECK(size >= 1 && rank >= 0 && rank < size, "rank ", rank, " is outside a world of size ", size);
  TORCH_CHECK(port > 0 && port < 65536, "masterPort must be in 1..65535, got ", port);
  bool known = false;
#ifdef LETHE_GLOO
  known = known || backend == "gloo";
#endif
#ifdef LETHE_NCCL
  known = known || backend == "nccl";
#endif
  if (!known && backend == "gloo") throw std::invalid_argument("backend 'gloo' is not in this build: Gloo's headers were missing when the addon was built (apt-get install libgloo-dev, then npm run setup)");
  if (!known && backend == "nccl") throw std::invalid_argument("backend 'nccl' needs the addon built against a CUDA libtorch with NCCL (this build has Gloo only)");
  if (!known) throw std::invalid_argument("unknown backend '" + backend + "' (expected gloo or nccl)");
  auto w = std::make_unique<World>();
  w->backend = backend;
  w->rank = static_cast<int>(rank);
  w->size = static_cast<int>(size);
  w->timeout = timeout;
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(port);
    so.isServer = rank == 0;
    so.numWorkers = static_cast<size_t>(size);
    so.waitWorkers = false;  // the group's own rendezvous below waits for every rank
    so.timeout = timeout;
    w->store = c10::make_intrusive<c10d::TCPStore>(addr, so);
    if (backend == "gloo") {
#ifdef LETHE_GLOO
      auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
      opts->devices.push_back(glooDevice(iface, host));
      opts->threads = 2;
      auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(w->store, w->rank, w->size, opts);
      w->group = std::make_unique<GroupOf<c10d::ProcessGroupGloo>>(pg, timeout);
#endif
    } else if (backend == "nccl") {
#ifdef LETHE_NCCL
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = timeout;
      auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(w->store, w->rank, w->size, opts);
      w->group = std::make_unique<GroupOf<c10d::ProcessGroupNCCL>>(pg, timeout);
#endif
    }
  } catch (const std::exception& e) {
    std::string msg = e.what();
    auto cut = msg.find("\nException raised from");
    throw std::runtime_error("rendezvous at " + addr + ":" + std::to_string(port) + " as rank " + std::to_string(rank) + " of " +
                             std::to_string(size) + " failed within " + std::to_string(timeout.count() / 1000.0).substr(0, 5) +
                             " s (are all ranks started, with the same MASTER_ADDR/MASTER_PORT/WORLD_SIZE?): " +
                             (cut == std::string::npos ? msg : msg.substr(0, cut)));
  }
  world = w.release();
  return info.Env().Undefined();
}

// The backends compiled in.
Napi::Value distBackends(const Napi::CallbackInfo& info, Args&) {
  auto env = info.Env();
  auto out = Napi::Array::New(env);
#ifdef LETHE_GLOO
  out.Set(out.Length(), Napi::String::New(env, "gloo"));
#endif
#ifdef LETHE_NCCL
  out.Set(out.Length(), Napi::String::New(env, "nccl"));
#endif
  return out;
}

Napi::Value distInfo(const Napi::CallbackInfo& info, Args&) {
  auto env = info.Env();
  if (!world) return env.Null();
  auto out = Napi::Object::New(env);
  out.Set("rank", Napi::Number::New(env, world->rank));
  out.Set("worldSize", Napi::Number::New(env, world->size));
  out.Set("backend", Napi::String::New(env, world->backend));
  out.Set("timeoutMs", Napi::Number::New(env, static_cast<double>(world->timeout.count())));
  return out;
}

template <typename F>
void collective(const char* op, F&& body) {
  auto& w = current(op);
  try {
    body(w);
  } catch (const std::exception& e) {
    rethrow(op, w, e);
  }
}

at::Tensor denseInput(const at::Tensor& t, const char* op) {
  TORCH_CHECK(t.is_contiguous(), op, ": the tensor must be contiguous (call .contiguous() first)");
  return t;
}

// distAllReduce(tensor, op): in place.
Napi::Value distAllReduce(const Napi::CallbackInfo& info, Args& a) {
  std::vector<at::Tensor> ts{denseInput(a.tensor(0, "tensor"), "allReduce")};
  auto op = reduceOp(a.string(1, "op"));
  collective("allReduce", [&](World& w) { w.group->allreduce(ts, op); });
  return info.Env().Undefined();
}

// distAllReduceBuckets(tensors, bucketBytes, op): every tensor reduced in place, flattened into
// buckets of about bucketBytes (one collective per bucket, as DDP's reducer does).
Napi::Value distAllReduceBuckets(const Napi::CallbackInfo& info, Args& a) {
  auto tensors = a.tensorList(0, "tensors");
  auto bucketBytes = a.i64(1, "bucketBytes");
  auto op = reduceOp(a.string(2, "op"));
  TORCH_CHECK(bucketBytes > 0, "bucketBytes must be positive, got ", bucketBytes);
  collective("allReduce (gradient buckets)", [&](World& w) {
    size_t i = 0;
    while (i < tensors.size()) {
      std::vector<at::Tensor> bucket{tensors[i]};
      int64_t bytes = tensors[i].nbytes();
      size_t j = i + 1;
      while (j < tensors.size() && bytes < bucketBytes && tensors[j].scalar_type() == tensors[i].scalar_type() &&
             tensors[j].device() == tensors[i].device()) {
        bytes += tensors[j].nbytes();
        bucket.push_back(tensors[j++]);
      }
      std::vector<at::Tensor> flat;
      for (auto& t : bucket) flat.push_back(t.reshape({-1}));
      std::vector<at::Tensor> buf{at::cat(flat)};
      w.group->allreduce(buf, op);
      int64_t off = 0;
      for (auto& t : bucket) {
        t.copy_(buf[0].narrow(0, off, t.numel()).view(t.sizes()));
        off += t.numel();
      }
      i = j;
    }
  });
  return info.Env().Undefined();
}

// distBroadcast(tensor, root): in place.
Napi::Value distBroadcast(const Napi::CallbackInfo& info, Args& a) {
  std::vector<at::Tensor> ts{denseInput(a.tensor(0, "tensor"), "broadcast")};
  auto root = a.i64(1, "root");
  collective("broadcast", [&](World& w) {
    TORCH_CHECK(root >= 0 && root < w.size, "broadcast: root ", root, " is outside a world of size ", w.size);
    w.group->broadcast(ts, root);
  });
  return info.Env().Undefined();
}

// distAllGather(tensor): one new tensor per rank, in rank order.
Napi::Value distAllGather(const Napi::CallbackInfo& info, Args& a) {
  std::vector<at::Tensor> in{denseInput(a.tensor(0, "tensor"), "allGather")};
  std::vector<std::vector<at::Tensor>> out(1);
  collective("allGather", [&](World& w) {
    for (int r = 0; r < w.size; r++) out[0].push_back(at::empty_like(in[0]));
    w.group->allgather(out, in);
  });
  return a.result(out[0]);
}

Napi::Value distBarrier(const Napi::CallbackInfo& info, Args&) {
  collective("barrier", [&](World& w) { w.group->barrier(); });
  return info.Env().Undefined();
}

}  // namespace

void registerDistributed(Napi::Env env, Napi::Object exports) {
  define(env, exports, "distInit", distInit, "str,str,i,i,i,i,str,str");
  define(env, exports, "distInfo", distInfo, "");
  define(env, exports, "distBackends", distBackends, "");
  define(env, exports, "distAllReduce", distAllReduce, "T,str");
  define(env, exports, "distAllReduceBuckets", distAllReduceBuckets, "TL,i,str");
  define(env, exports, "distBroadcast", distBroadcast, "T,i");
  define(env, exports, "distAllGather", distAllGather, "T");
  define(env, exports, "distBarrier", distBarrier, "");
}

}  // namespace lethe
