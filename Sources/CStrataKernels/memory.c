// Returns freed heap memory to the system (glibc malloc_trim), so that resident memory after a
// model load reflects what the engine holds rather than the freed checkpoint tensors.
#include "strata_kernels.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

void sk_release_free_memory(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}
