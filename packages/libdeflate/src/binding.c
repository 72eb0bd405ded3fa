// N-API binding to libdeflate's gzip compressor: one call compresses one whole block into a
// caller-owned output buffer on libuv's thread pool. libdeflate needs the whole input at once
// (no streaming), which is exactly how Slipway's gzip encoder works: independent 1 MiB members.
#include <libdeflate.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// Incompressible-block test: deflate a few slices spread over the block at level 1; a block whose
// slices do not shrink below 97 % is stored (level 0): compressing it would cost time and save nothing.
#define SAMPLES 4
#define SAMPLE_BYTES 4096
#define INCOMPRESSIBLE_PERCENT 97

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref input_ref;
  napi_ref output_ref;
  const uint8_t *input;
  size_t input_length;
  uint8_t *output;
  size_t output_length;
  int level;
  bool store_incompressible;
  size_t written; // 0: the output did not fit (or the compressor could not be allocated)
} GzipJob;

#define CHECK(env, call)                                            \
  do {                                                              \
    if ((call) != napi_ok) {                                        \
      napi_throw_error((env), "SLW_INTERNAL_ERROR", #call " failed"); \
      return NULL;                                                  \
    }                                                               \
  } while (0)

static bool incompressible(const uint8_t *block, size_t length) {
  if (length <= SAMPLES * SAMPLE_BYTES) return false; // small blocks: just compress them
  uint8_t sample[SAMPLES * SAMPLE_BYTES];
  uint8_t deflated[SAMPLES * SAMPLE_BYTES];
  size_t stride = length / SAMPLES;
  for (size_t i = 0; i < SAMPLES; i++) memcpy(sample + i * SAMPLE_BYTES, block + i * stride, SAMPLE_BYTES);
  struct libdeflate_compressor *fast = libdeflate_alloc_compressor(1);
  if (fast == NULL) return false;
  // 0 means "did not fit in the sample's own size": certainly incompressible.
  size_t size = libdeflate_deflate_compress(fast, sample, sizeof sample, deflated, sizeof deflated);
  libdeflate_free_compressor(fast);
  return size == 0 || size * 100 > sizeof sample * INCOMPRESSIBLE_PERCENT;
}

static void execute(napi_env env, void *data) {
  (void)env;
  GzipJob *job = data;
  int level = job->level;
  if (level > 0 && job->store_incompressible && incompressible(job->input, job->input_length)) level = 0;
  // A compressor per job: they are not thread-safe, and allocating one is cheap next to 1 MiB of work.
  struct libdeflate_compressor *compressor = libdeflate_alloc_compressor(level);
  if (compressor == NULL) return;
  job->written = libdeflate_gzip_compress(compressor, job->input, job->input_length, job->output, job->output_length);
  libdeflate_free_compressor(compressor);
}

static void complete(napi_env env, napi_status status, void *data) {
  GzipJob *job = data;
  napi_value result;
  if (status == napi_ok && napi_create_double(env, (double)job->written, &result) == napi_ok) {
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    napi_value message, error;
    napi_create_string_utf8(env, "gzip job was cancelled", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &error);
    napi_reject_deferred(env, job->deferred, error);
  }
  napi_delete_reference(env, job->input_ref);
  napi_delete_reference(env, job->output_ref);
  napi_delete_async_work(env, job->work);
  free(job);
}

static int typed_array_bytes(napi_env env, napi_value value, uint8_t **bytes, size_t *length) {
  bool is_typed_array = false;
  if (napi_is_typedarray(env, value, &is_typed_array) != napi_ok || !is_typed_array) return 0;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  void *data;
  if (napi_get_typedarray_info(env, value, &type, length, &data, &buffer, &offset) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *bytes = data;
  return 1;
}

// gzip(input, output, level: 0..12, storeIncompressible?: boolean): Promise<bytes written, 0 if it did not fit>
static napi_value gzip(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  GzipJob *job = calloc(1, sizeof(GzipJob));
  if (job == NULL) {
    napi_throw_error(env, "SLW_INTERNAL_ERROR", "out of memory");
    return NULL;
  }
  int32_t level = -1;
  uint8_t *input = NULL;
  if (argc < 3 || !typed_array_bytes(env, argv[0], &input, &job->input_length) ||
      !typed_array_bytes(env, argv[1], &job->output, &job->output_length) || napi_get_value_int32(env, argv[2], &level) != napi_ok ||
      level < 0 || level > 12) {
    free(job);
    napi_throw_type_error(env, "SLW_INTERNAL_ERROR", "gzip(input: Uint8Array, output: Uint8Array, level: 0-12)");
    return NULL;
  }
  job->input = input;
  job->level = level;
  job->store_incompressible = false;
  if (argc >= 4 && napi_get_value_bool(env, argv[3], &job->store_incompressible) != napi_ok) job->store_incompressible = false;
  napi_value promise, name;
  // References keep both buffers alive (and unmoved) until the pool thread is done with them.
  CHECK(env, napi_create_reference(env, argv[0], 1, &job->input_ref));
  CHECK(env, napi_create_reference(env, argv[1], 1, &job->output_ref));
  CHECK(env, napi_create_promise(env, &job->deferred, &promise));
  CHECK(env, napi_create_string_utf8(env, "slipway:gzip", NAPI_AUTO_LENGTH, &name));
  CHECK(env, napi_create_async_work(env, NULL, name, execute, complete, job, &job->work));
  CHECK(env, napi_queue_async_work(env, job->work));
  return promise;
}

// gzipBound(length): the output size that always suffices for `length` input bytes at any level.
static napi_value gzip_bound(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  double length = 0;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_double(env, argv[0], &length) != napi_ok || length < 0) {
    napi_throw_type_error(env, "SLW_INTERNAL_ERROR", "gzipBound(length: number)");
    return NULL;
  }
  napi_value result;
  CHECK(env, napi_create_double(env, (double)libdeflate_gzip_compress_bound(NULL, (size_t)length), &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
    {"gzip", NULL, gzip, NULL, NULL, NULL, napi_default, NULL},
    {"gzipBound", NULL, gzip_bound, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, 2, properties));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
