{
  "targets": [
    {
      "target_name": "stackts_pcap",
      "sources": [
        "native/addon.cc",
        "native/common.cc",
        "native/devices.cc",
        "native/live.cc",
        "native/packet_socket.cc",
        "native/bpf.cc",
        "native/gro.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-O2"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["-lpcap"]
    }
  ]
}
