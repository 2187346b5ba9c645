{
  "targets": [
    {
      "target_name": "ocn_netlink",
      "sources": ["native/ocn_netlink.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    }
  ]
}
