{
  "variables": {
    "libtorch_include": "<!(node native/find-libtorch.mjs include)",
    "libtorch_libdir": "<!(node native/find-libtorch.mjs libdir)",
    "libtorch_root": "<!(node native/find-libtorch.mjs root)",
    "libtorch_cuda": "<!(node native/find-libtorch.mjs cuda)",
    "libtorch_nccl": "<!(node native/find-libtorch.mjs nccl)",
    "libtorch_gloo": "<!(node native/find-libtorch.mjs gloo)",
    "gloo_shared": "<!(node native/find-libtorch.mjs gloo-shared)",
    "cxx11_abi": "<!(node native/find-libtorch.mjs abi)"
  },
  "targets": [
    {
      "target_name": "lethe",
      "sources": [
        "native/src/addon.cc",
        "native/src/core.cc",
        "native/src/composite.cc",
        "native/src/tensor.cc",
        "native/src/autograd.cc",
        "native/src/optim.cc",
        "native/src/safetensors.cc",
        "native/src/system.cc",
        "native/src/distributed.cc",
        "native/src/ops.gen.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<@(libtorch_include)"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "_GLIBCXX_USE_CXX11_ABI=<(cxx11_abi)",
        "LETHE_LIBTORCH_DIR=\"<(libtorch_root)\""
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": ["-L<(libtorch_libdir)", "-Wl,-rpath,<(libtorch_libdir)", "-Wl,--no-as-needed", "-ltorch", "-ltorch_cpu", "-lc10"],
      "conditions": [
        ["libtorch_cuda==1", {
          "defines": ["LETHE_CUDA"],
          "libraries": ["-ltorch_cuda", "-lc10_cuda"]
        }],
        ["libtorch_nccl==1", {"defines": ["LETHE_NCCL", "USE_C10D_NCCL"]}],
        ["libtorch_gloo==1", {"defines": ["LETHE_GLOO", "USE_C10D_GLOO"]}],
        ["gloo_shared==1", {"libraries": ["-lgloo"]}]
      ]
    }
  ]
}
