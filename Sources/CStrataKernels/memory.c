// Returns freed heap memory to the system (glibc malloc_trim), so that resident memory after a
// model load reflects what the engine holds rather than the freed checkpoint tensors.
#include "strata_kernels.h"
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

void sk_release_free_memory(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}
