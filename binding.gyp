{
  "targets": [
    {
      "target_name": "tollgate_native",
      "sources": [
        "native/addon.c",
        "native/aead.c",
        "native/cpu.c",
        "native/hash.c",
        "native/search.c"
      ],
      "cflags": ["-std=gnu11", "-O3", "-Wall", "-Wextra", "-fvisibility=hidden"],
      "cflags!": ["-O2"],
      "xcode_settings": {
        "GCC_OPTIMIZATION_LEVEL": "3",
        "OTHER_CFLAGS": ["-std=gnu11", "-Wall", "-Wextra"]
      }
    }
  ]
}
