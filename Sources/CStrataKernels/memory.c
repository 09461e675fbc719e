#pragma clang fp contract(off)   // sk_internal.h's rule (this file does no floating-point math)
// Scratch memory of the kernels, and returning freed heap memory to the system (glibc malloc_trim), so
// that resident memory after a model load reflects what the engine holds rather than the freed
// checkpoint tensors.
#include "strata_kernels.h"
#include "sk_internal.h"
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

// Scratch of 256 KiB and more is mapped and unmapped directly: the heap (and each thread's arena)
// would otherwise keep the largest freed scratch resident for the life of the process.
#define SK_MAP_MIN ((size_t)256 << 10)

void *sk_scratch_alloc(size_t bytes) {
    if (bytes < SK_MAP_MIN) {
        void *p = NULL;
        return posix_memalign(&p, 64, bytes ? bytes : 64) == 0 ? p : NULL;
    }
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void sk_scratch_free(void *p, size_t bytes) {
    if (!p) return;
    if (bytes < SK_MAP_MIN) free(p); else munmap(p, bytes);
}

// MARK: per-thread scratch of the GEMMs
//
// The int8 / bf16 kernels quantize / convert their activations one block of SK_MC rows at a time, so a
// call needs SK_MC x Kp bytes (int8) or twice that (bf16): 96 / 192 KiB at K = 1536. Each thread keeps
// one such buffer (grown to the largest request, rounded up to 64 KiB) for all its calls, so no call
// maps or faults in memory; the buffer is freed when the thread exits. Requests over the cap (K over
// about 4,000 in bf16) get a block of their own per call, as before. Resident memory is therefore
// bounded by SK_THREAD_SCRATCH_MAX per thread that ran a GEMM.
#define SK_THREAD_SCRATCH_MAX ((size_t)512 << 10)

typedef struct { void *p; size_t bytes; } thread_buffer;
static __thread thread_buffer tls_buffer;
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void free_thread_buffer(void *arg) {
    thread_buffer *b = (thread_buffer *)arg;
    sk_scratch_free(b->p, b->bytes);
    b->p = NULL; b->bytes = 0;
}

static void make_key(void) { pthread_key_create(&tls_key, free_thread_buffer); }

sk_scratch sk_scratch_acquire(size_t bytes) {
    sk_scratch s = { NULL, bytes, 0 };
    if (bytes > SK_THREAD_SCRATCH_MAX) {
        s.p = sk_scratch_alloc(bytes);
        s.owned = 1;
        return s;
    }
    thread_buffer *b = &tls_buffer;
    if (b->bytes < bytes) {
        pthread_once(&tls_once, make_key);
        sk_scratch_free(b->p, b->bytes);
        size_t want = sk_round_up(bytes, (size_t)64 << 10);
        b->p = sk_scratch_alloc(want);
        b->bytes = b->p ? want : 0;
        pthread_setspecific(tls_key, b);     // frees it at thread exit
    }
    s.p = b->p;
    return s;
}

void sk_scratch_release(sk_scratch *s) {
    if (s->owned) sk_scratch_free(s->p, s->bytes);
    s->p = NULL;
}

void sk_release_free_memory(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}
