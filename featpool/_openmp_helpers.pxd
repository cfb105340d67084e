# The one place that touches the OpenMP runtime. It compiles with or without
# OpenMP: without it, the omp_* functions below become single-thread stand-ins.
cdef extern from *:
    """
    #ifdef _OPENMP
        #include <omp.h>
        #define FEATPOOL_OPENMP_ENABLED 1
    #else
        #define FEATPOOL_OPENMP_ENABLED 0
        #define omp_get_max_threads() 1
        #define omp_get_thread_num() 0
    #endif
    """
    bint FEATPOOL_OPENMP_ENABLED
    int omp_get_max_threads() noexcept nogil
    int omp_get_thread_num() noexcept nogil
