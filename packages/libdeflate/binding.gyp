{
  "targets": [
    {
      "target_name": "slipway_libdeflate",
      "sources": ["src/binding.c"],
      "libraries": ["-ldeflate"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
