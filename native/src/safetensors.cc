// Safetensors byte I/O. The header is parsed and validated in TypeScript (src/torch/safetensors.ts);
// here bytes go straight between the file and tensor memory, never through JS arrays.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core.h"

namespace lethe {
namespace {

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void readFully(int fd, uint8_t* dst, size_t n, off_t offset, const std::string& path) {
  while (n > 0) {
    ssize_t got = ::pread(fd, dst, n, offset);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw std::runtime_error("reading " + path + ": " + std::strerror(errno));
    if (got == 0) throw std::runtime_error("reading " + path + ": file ended early (truncated?)");
    dst += got;
    n -= static_cast<size_t>(got);
    offset += got;
  }
}

void writeFully(int fd, const uint8_t* src, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t put = ::write(fd, src, n);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) throw std::runtime_error("writing " + path + ": " + std::strerror(errno));
    src += put;
    n -= static_cast<size_t>(put);
  }
}

Napi::Value readTensors(const Napi::CallbackInfo& info, Args& a) {
  // (path, dataStart, entries: [dtype, shape, begin, end][]) → handles
  auto path = a.string(0, "path");
  int64_t dataStart = a.i64(1, "dataStart");
  if (!info[2].IsArray()) a.fail(2, "entries", "an array");
  auto entries = info[2].As<Napi::Array>();
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  // Read everything before wrapping, so that a failure part-way leaves no half-made handles.
  std::vector<at::Tensor> tensors;
  tensors.reserve(entries.Length());
  for (uint32_t k = 0; k < entries.Length(); k++) {
    auto ev = entries.Get(k);
    if (!ev.IsArray()) a.fail(2, "entries", "an array of [dtype, shape, begin, end]");
    auto e = ev.As<Napi::Array>();
    if (e.Length() != 4 || !e.Get(0u).IsString() || !e.Get(1u).IsArray() || !e.Get(2u).IsNumber() || !e.Get(3u).IsNumber())
      a.fail(2, "entries", "an array of [dtype, shape, begin, end]");
    auto dtype = parseDtype(e.Get(0u).As<Napi::String>().Utf8Value());
    auto shapeArr = e.Get(1u).As<Napi::Array>();
    std::vector<int64_t> shape;
    for (uint32_t d = 0; d < shapeArr.Length(); d++) {
      auto dim = shapeArr.Get(d);
      if (!dim.IsNumber()) a.fail(2, "entries", "shapes of integers");
      shape.push_back(dim.As<Napi::Number>().Int64Value());
    }
    int64_t begin = e.Get(2u).As<Napi::Number>().Int64Value(), end = e.Get(3u).As<Napi::Number>().Int64Value();
    auto t = at::empty(shape, at::TensorOptions().dtype(dtype));
    size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
    TORCH_CHECK(static_cast<int64_t>(bytes) == end - begin, "tensor byte span does not match its shape and dtype");
    if (bytes) readFully(f.fd, static_cast<uint8_t*>(t.data_ptr()), bytes, dataStart + begin, path);
    tensors.push_back(std::move(t));
  }
  return a.result(tensors);
}

Napi::Value writeFile(const Napi::CallbackInfo& info, Args& a) {
  // (path, header: Uint8Array (length prefix + JSON + padding), tensors[] in offset order)
  auto path = a.string(0, "path");
  if (!info[1].IsTypedArray()) a.fail(1, "header", "a Uint8Array");
  auto header = info[1].As<Napi::Uint8Array>();
  auto tensors = a.tensorList(2, "tensors");
  Fd f{::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
  if (f.fd < 0) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  writeFully(f.fd, header.Data(), header.ByteLength(), path);
  for (auto& t : tensors) {
    auto c = t.detach().to(at::kCPU).contiguous();
    writeFully(f.fd, static_cast<const uint8_t*>(c.data_ptr()), c.numel() * c.element_size(), path);
  }
  if (::fsync(f.fd) != 0) throw std::runtime_error("fsync " + path + ": " + std::strerror(errno));
  return info.Env().Undefined();
}

}  // namespace

void registerSafetensors(Napi::Env env, Napi::Object exports) {
  define(env, exports, "safetensorsRead", readTensors, "str,i,raw");
  define(env, exports, "safetensorsWrite", writeFile, "str,raw,TL");
}

}  // namespace lethe
