/*
 * Linked into every Criterion suite. Criterion runs each test in a child
 * process and ignores LeakSanitizer's exit status there, so a leak would be
 * printed but the test would pass. In ASan builds this destructor runs the
 * leak check at the child's exit and aborts on a leak, which fails the test.
 */
#if defined(__SANITIZE_ADDRESS__)
#define VG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VG_ASAN 1
#endif
#endif

#ifdef VG_ASAN
#include <sanitizer/lsan_interface.h>
#include <stdlib.h>

__attribute__((destructor)) static void vg_test_leak_check(void)
{
    if (__lsan_do_recoverable_leak_check())
        abort();
}
#endif
