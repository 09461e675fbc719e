// OpenBLAS CBLAS interface (Debian: libopenblas-dev). Imported only by the Kernels module.
#include <x86_64-linux-gnu/cblas.h>
