{
  "variables": {
    "fastpath%": "<!(sh native/fastpath/toolchain.sh)"
  },
  "target_defaults": {
    "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fno-strict-aliasing"],
    "cflags_c": ["-std=gnu11"],
    "cflags_cc": ["-std=gnu++17"],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions"],
    "defines": ["_GNU_SOURCE", "NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"]
  },
  "targets": [
    {
      "target_name": "socketbox_server",
      "sources": ["native/server_addon.cc", "native/listener_bindings.cc", "native/privilege_bindings.cc", "native/capability_bindings.cc",
                  "native/table_bindings.cc", "native/loop_bindings.cc", "native/contract_bindings.cc", "native/notify_bindings.cc",
                  "native/log_bindings.cc", "native/registration_bindings.cc", "native/fastpath_bindings.cc", "native/source_rate_bindings.cc", "native/control_bindings.cc",
                  "<!@(ls -1 native/server/*.c)", "<!@(ls -1 native/common/*.c)", "native/fastpath/listener_grant.c"],
      "conditions": [
        ["fastpath==1", {
          "sources": ["<!@(ls -1 native/fastpath/*.c | grep -v listener_grant.c)"],
          "libraries": ["-ldl", "-lpthread"]
        }, {
          "sources": ["native/fastpath/off/fastpath_off.c"]
        }]
      ]
    },
    {
      "target_name": "libsocketbox-startup",
      "type": "shared_library",
      "product_prefix": "",
      "product_name": "libsocketbox-startup",
      "sources": ["<!@(ls -1 native/startup/*.c)", "native/common/thread_caps.c"],
      "libraries": ["-ldl"],
      "cflags": ["-fPIC", "-fvisibility=hidden"]
    },
    {
      "target_name": "socketbox_fastpath_bpf",
      "type": "none",
      "conditions": [["fastpath==1", {
        "actions": [{
          "action_name": "compile_sk_lookup",
          "inputs": ["native/fastpath/bpf/sk_lookup.bpf.c", "native/fastpath/fastpath_abi.h"],
          "outputs": ["<(PRODUCT_DIR)/socketbox_sk_lookup.bpf.o"],
          "action": ["clang", "-O2", "-g", "-Wall", "-target", "bpf", "-mcpu=v3", "-I<!(gcc -dumpmachine | sed s,^,/usr/include/,)", "-Inative",
                     "-c", "native/fastpath/bpf/sk_lookup.bpf.c", "-o", "<(PRODUCT_DIR)/socketbox_sk_lookup.bpf.o"]
        }]
      }]]
    },
    {
      "target_name": "socketbox_client",
      "sources": ["native/client_addon.cc", "<!@(ls -1 native/clients/*.c)", "<!@(ls -1 native/common/*.c)"]
    },
    {
      "target_name": "libsocketbox-preload",
      "type": "shared_library",
      "product_prefix": "",
      "product_name": "libsocketbox-preload",
      "sources": ["<!@(ls -1 native/preload/*.c)", "<!@(ls -1 native/common/*.c)"],
      "libraries": ["-ldl", "-lpthread"],
      "cflags": ["-fPIC", "-fvisibility=hidden"]
    },
    {
      "target_name": "socketbox_relay",
      "sources": ["native/relay_addon.cc", "<!@(ls -1 native/relay/*.c)", "<!@(ls -1 native/common/*.c)"]
    }
  ]
}
